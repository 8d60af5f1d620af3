using System.Net;
using VqaPipeline.Ingestion.Tests.Support;

namespace VqaPipeline.Ingestion.Tests;

/// <summary>
/// URL downloads with the production download handler against a real listener on 127.0.0.1: the address guard
/// (on by default) refuses every non-public address before connecting; redirects are followed hop by hop.
/// </summary>
public sealed class UrlGuardTests : IDisposable
{
    private static readonly byte[] Image = File.ReadAllBytes(Fixtures.Jpeg());
    private readonly HttpListener _server = new();
    private readonly Task _serving;
    private int _requests;

    public UrlGuardTests()
    {
        Port = IngestionHost.ClosedPort();
        _server.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _server.Prefixes.Add($"http://localhost:{Port}/");
        _server.Start();
        _serving = ServeAsync();
    }

    private int Port { get; }

    public static TheoryData<string> NonPublicAddresses => new(
        "127.0.0.1", "127.255.0.1", "0.0.0.0", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
        "169.254.169.254", "100.64.0.1", "100.127.255.254", "224.0.0.1", "255.255.255.255",
        "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe");

    public static TheoryData<string> PublicAddresses => new(
        "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "169.255.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8");

    [Theory]
    [MemberData(nameof(NonPublicAddresses))]
    public void Every_non_public_address_is_refused_with_a_reason(string address) =>
        Assert.NotNull(OutboundAddressGuard.RefusalReason(IPAddress.Parse(address)));

    [Theory]
    [MemberData(nameof(PublicAddresses))]
    public void Public_addresses_are_allowed(string address) =>
        Assert.Null(OutboundAddressGuard.RefusalReason(IPAddress.Parse(address)));

    [Fact]
    public void The_guard_is_on_unless_configured_off() => Assert.False(new IngestionOptions().AllowPrivateNetworkUrls);

    [Fact]
    public async Task Urls_naming_or_resolving_to_local_and_private_addresses_are_refused_without_a_connection()
    {
        var downloader = Downloader(allowPrivateNetwork: false);
        string[] urls =
        [
            $"http://127.0.0.1:{Port}/a.jpg", $"http://localhost:{Port}/a.jpg", $"http://[::1]:{Port}/a.jpg",
            $"http://[::ffff:127.0.0.1]:{Port}/a.jpg", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/a.png",
            "https://192.168.0.1/a.png", "http://100.64.0.1/a.png", "http://0.0.0.0/a.png",
        ];

        foreach (var url in urls)
        {
            var download = await downloader.DownloadAsync(url, CancellationToken.None);
            Assert.Null(download.Content);
            Assert.Equal(url, download.FileName);
            Assert.StartsWith("refused: ", download.Failure);
            Assert.Contains("only public addresses", download.Failure);
        }
        Assert.Contains("resolves to 169.254.169.254, a link-local address", (await downloader.DownloadAsync(urls[4], default)).Failure);
        Assert.Contains("localhost resolves to", (await downloader.DownloadAsync(urls[1], default)).Failure);
        Assert.Equal(0, _requests);
    }

    [Fact]
    public async Task With_private_networks_allowed_redirects_are_followed_and_checked_hop_by_hop()
    {
        var downloader = Downloader(allowPrivateNetwork: true);

        var followed = await downloader.DownloadAsync($"http://127.0.0.1:{Port}/redirect/2/photo.jpg", default);
        var toFile = await downloader.DownloadAsync($"http://127.0.0.1:{Port}/to-file", default);
        var endless = await downloader.DownloadAsync($"http://127.0.0.1:{Port}/redirect/{UrlDownloader.MaxRedirects + 1}/x.jpg", default);

        Assert.Null(followed.Failure);
        Assert.Equal("photo.jpg", followed.FileName);
        Assert.Equal(Image, followed.Content!.ToArray());
        Assert.Equal("redirected to file: URL, not http or https", toFile.Failure);
        Assert.Equal($"more than {UrlDownloader.MaxRedirects} redirects", endless.Failure);
    }

    public void Dispose()
    {
        _server.Stop();
        _serving.GetAwaiter().GetResult();
        _server.Close();
    }

    private static UrlDownloader Downloader(bool allowPrivateNetwork)
    {
        var limits = new IngestionOptions { AllowPrivateNetworkUrls = allowPrivateNetwork, DownloadTimeout = TimeSpan.FromSeconds(5) };
        var http = new HttpClient(OutboundAddressGuard.CreateHandler(limits.DownloadTimeout, limits.AllowPrivateNetworkUrls))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        return new UrlDownloader(http, limits);
    }

    /// <summary>
    /// Serves the fixture JPEG; <c>/redirect/N/name</c> redirects N times before serving it, <c>/to-file</c> redirects
    /// to a <c>file:</c> URL.
    /// </summary>
    private async Task ServeAsync()
    {
        try
        {
            while (_server.IsListening)
            {
                var context = await _server.GetContextAsync();
                Interlocked.Increment(ref _requests);
                var segments = context.Request.Url!.AbsolutePath.Trim('/').Split('/');
                var response = context.Response;
                if (segments is ["redirect", var hops, var name] && int.Parse(hops) > 0)
                    Redirect(response, $"/redirect/{int.Parse(hops) - 1}/{name}");
                else if (segments is ["to-file"])
                    Redirect(response, "file:///etc/passwd");
                else
                {
                    response.ContentType = "image/jpeg";
                    await response.OutputStream.WriteAsync(Image);
                }
                response.Close();
            }
        }
        catch (Exception error) when (error is HttpListenerException or ObjectDisposedException)
        {
            // Stop() ends the pending GetContextAsync.
        }
    }

    private static void Redirect(HttpListenerResponse response, string location)
    {
        response.StatusCode = (int)HttpStatusCode.Found;
        response.RedirectLocation = location;
    }
}
