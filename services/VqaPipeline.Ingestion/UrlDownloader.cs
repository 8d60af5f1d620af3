using System.Net.Http.Headers;

namespace VqaPipeline.Ingestion;

/// <summary>Fetches images by http(s) URL, within a time and size limit; every failure becomes a refusal reason.</summary>
internal sealed class UrlDownloader(HttpClient http, IngestionOptions limits)
{
    public const string ClientName = "image-downloads";

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
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
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
        catch (HttpRequestException exception)
        {
            return Failed($"download failed: {exception.Message}");
        }

        Download Failed(string reason) => new(url, null, null, reason);
    }

    private static string FileNameOf(Uri uri, ContentDispositionHeaderValue? disposition)
    {
        var fromHeader = (disposition?.FileNameStar ?? disposition?.FileName)?.Trim('"');
        if (!string.IsNullOrWhiteSpace(fromHeader))
            return Path.GetFileName(fromHeader.Replace('\\', '/'));
        var lastSegment = Uri.UnescapeDataString(uri.AbsolutePath.Split('/')[^1]);
        return lastSegment.Length > 0 ? lastSegment : uri.Host;
    }
}
