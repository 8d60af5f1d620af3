namespace VqaPipeline.Hosting;

/// <summary>
/// <c>--health-check URL</c>: the service binary asks a running instance of itself whether it is ready and exits 0
/// (HTTP 200) or 1. Container images of the ASP.NET runtime have no curl or wget; this makes the health check of
/// docker-compose.yml a plain <c>dotnet Service.dll --health-check http://127.0.0.1:PORT/health/ready</c>.
/// </summary>
public static class HealthProbe
{
    public const string Switch = "--health-check";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>The exit code when <paramref name="args"/> ask for a health check, else <c>null</c> (run the service).</summary>
    public static async Task<int?> RunIfAskedAsync(string[] args, TextWriter? report = null)
    {
        if (args is not [Switch, ..])
            return null;
        report ??= Console.Error;
        if (args is not [_, var url] || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            await report.WriteLineAsync($"usage: {Switch} http://HOST:PORT{ServiceDefaults.ReadyPath}");
            return 2;
        }
        try
        {
            using var http = new HttpClient { Timeout = Timeout };
            using var response = await http.GetAsync(uri);
            if (response.IsSuccessStatusCode)
                return 0;
            await report.WriteLineAsync($"{uri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            return 1;
        }
        catch (Exception error) when (error is HttpRequestException or TaskCanceledException)
        {
            await report.WriteLineAsync($"{uri} unreachable: {error.Message}");
            return 1;
        }
    }
}
