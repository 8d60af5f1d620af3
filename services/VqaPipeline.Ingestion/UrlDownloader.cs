using System.Net.Http.Headers;

namespace VqaPipeline.Ingestion;

/// <summary>
/// Fetches images by http(s) URL, within a time and size limit, following at most <see cref="MaxRedirects"/> redirects
/// to http(s) URLs; the client's handler (<see cref="OutboundAddressGuard"/>) checks every connection's address. Every
/// failure becomes a refusal reason.
/// </summary>
internal sealed class UrlDownloader(HttpClient http, IngestionOptions limits)
{
    public const string ClientName = "image-downloads";

    public const int MaxRedirects = 5;

    /// <summary>A downloaded file, or the reason there is none.</summary>
    public sealed record Download(string FileName, string? ContentType, MemoryStream? Content, string? Failure);

    public async Task<Download> DownloadAsync(string url, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return new Download(url, null, null, "not an http or https URL");

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limits.DownloadTimeout);
        try
        {
            var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            for (var redirects = 0; IsRedirect(response); redirects++)
            {
                var location = response.Headers.Location;
                response.Dispose();
                if (location is null)
                    return Failed("the server answered a redirect without a Location");
                uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
                if (uri.Scheme is not ("http" or "https"))
                    return Failed($"redirected to {uri.Scheme}: URL, not http or https");
                if (redirects == MaxRedirects)
                    return Failed($"more than {MaxRedirects} redirects");
                response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            }
            using var _ = response;
            if (!response.IsSuccessStatusCode)
                return Failed($"the server answered {(int)response.StatusCode} {response.ReasonPhrase}");
            if (response.Content.Headers.ContentLength > limits.MaxImageBytes)
                return Failed($"{response.Content.Headers.ContentLength} bytes, over the {limits.MaxImageBytes}-byte limit per image");

            await using var body = await response.Content.ReadAsStreamAsync(deadline.Token);
            var content = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await body.ReadAsync(chunk, deadline.Token)) > 0)
            {
                if (content.Length + read > limits.MaxImageBytes)
                {
                    await content.DisposeAsync();
                    return Failed($"larger than the {limits.MaxImageBytes}-byte limit per image");
                }
                content.Write(chunk, 0, read);
            }
            content.Position = 0;
            return new Download(FileNameOf(uri, response.Content.Headers.ContentDisposition), response.Content.Headers.ContentType?.MediaType, content, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed($"no complete answer within {limits.DownloadTimeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException exception) when (exception.InnerException is ForbiddenAddressException forbidden)
        {
            return Failed($"refused: {forbidden.Message}");
        }
        catch (HttpRequestException exception)
        {
            return Failed($"download failed: {exception.Message}");
        }

        Download Failed(string reason) => new(url, null, null, reason);
    }

    private static bool IsRedirect(HttpResponseMessage response) =>
        (int)response.StatusCode is 301 or 302 or 303 or 307 or 308;

    private static string FileNameOf(Uri uri, ContentDispositionHeaderValue? disposition)
    {
        var fromHeader = (disposition?.FileNameStar ?? disposition?.FileName)?.Trim('"');
        if (!string.IsNullOrWhiteSpace(fromHeader))
            return Path.GetFileName(fromHeader.Replace('\\', '/'));
        var lastSegment = Uri.UnescapeDataString(uri.AbsolutePath.Split('/')[^1]);
        return lastSegment.Length > 0 ? lastSegment : uri.Host;
    }
}
