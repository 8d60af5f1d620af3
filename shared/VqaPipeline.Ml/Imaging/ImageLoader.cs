using System.Net;

namespace VqaPipeline.Ml.Imaging;

/// <summary>
/// Loads images from files, http(s) URLs, base64 text, <c>data:</c> URIs, bytes or streams, and returns them the way
/// transformers' <c>load_image</c> does: EXIF orientation applied, converted to RGB (alpha dropped, gray and palette
/// expanded). Decodes JPEG, PNG, WebP, GIF (first frame) and BMP. Every failure is an <see cref="ImageLoadException"/>.
/// </summary>
public sealed class ImageLoader
{
    private static readonly HttpClient SharedHttpClient = new() { Timeout = Timeout.InfiniteTimeSpan };

    private readonly HttpClient _httpClient;

    /// <param name="options">Limits; the defaults when null.</param>
    /// <param name="httpClient">Used for URLs; a shared client when null. Its own Timeout still applies.</param>
    public ImageLoader(ImageLoadOptions? options = null, HttpClient? httpClient = null)
    {
        Options = options ?? new ImageLoadOptions();
        _httpClient = httpClient ?? SharedHttpClient;
    }

    public ImageLoadOptions Options { get; }

    /// <summary>
    /// Loads from any textual source, in the order <c>load_image</c> tries them: an http(s) URL, an existing file,
    /// a <c>data:</c> URI, then base64. Text that is neither is reported as a missing file when it looks like a path
    /// (holds a directory separator or an extension), else as invalid base64.
    /// </summary>
    public async Task<RgbImage> LoadAsync(string source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            return Uri.TryCreate(source, UriKind.Absolute, out var url)
                ? await LoadUrlAsync(url, cancellationToken).ConfigureAwait(false)
                : throw new ImageLoadException(ImageLoadFailure.Unreachable, Quote(source), "is not a valid URL.");
        if (File.Exists(source))
            return LoadFile(source);
        if (source.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
            return LoadDataUri(source);
        // Text like "/tmp/abc" is also valid base64: only take it as base64 when it decodes to an image's signature.
        if (TryFromBase64(source, out var encoded) && (!LooksLikePath(source) || ImageDecoder.StartsWithImageSignature(encoded)))
            return ImageDecoder.Decode(encoded, "<base64 text>", Options);
        return LooksLikePath(source) ? LoadFile(source) : LoadBase64(source);
    }

    public RgbImage LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var source = Quote(path);
        byte[] encoded;
        try
        {
            encoded = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageLoadException(ImageLoadFailure.NotFound, source, "file not found.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageLoadException(ImageLoadFailure.NotFound, source, $"cannot be read ({e.Message}).", e);
        }
        return ImageDecoder.Decode(encoded, source, Options);
    }

    /// <summary>Downloads and decodes; the whole download is bounded by <see cref="ImageLoadOptions.HttpTimeout"/>.</summary>
    public async Task<RgbImage> LoadUrlAsync(Uri url, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        var source = Quote(url.ToString());
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.HttpTimeout);
        byte[] encoded;
        try
        {
            using var response = await _httpClient.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token)
                .ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
                throw new ImageLoadException(ImageLoadFailure.NotFound, source, "the server answered 404 Not Found.");
            if (!response.IsSuccessStatusCode)
                throw new ImageLoadException(ImageLoadFailure.Unreachable, source,
                    $"the server answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            encoded = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ImageLoadException(ImageLoadFailure.Unreachable, source,
                $"no complete answer within {Options.HttpTimeout.TotalSeconds:0.#} s (ImageLoadOptions.HttpTimeout).", e);
        }
        catch (HttpRequestException e)
        {
            throw new ImageLoadException(ImageLoadFailure.Unreachable, source, $"cannot be downloaded ({e.Message}).", e);
        }
        return ImageDecoder.Decode(encoded, source, Options);
    }

    /// <summary>Decodes base64 text, with or without a <c>data:image/...;base64,</c> prefix.</summary>
    public RgbImage LoadBase64(string base64)
    {
        ArgumentNullException.ThrowIfNull(base64);
        return base64.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
            ? LoadDataUri(base64)
            : DecodeBase64(base64, "<base64 text>");
    }

    public RgbImage LoadBytes(ReadOnlySpan<byte> encoded) => ImageDecoder.Decode(encoded, "<bytes>", Options);

    public RgbImage LoadStream(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return ImageDecoder.Decode(copy.GetBuffer().AsSpan(0, (int)copy.Length), "<stream>", Options);
    }

    private RgbImage LoadDataUri(string uri)
    {
        const string source = "<data URI>";
        var comma = uri.IndexOf(',');
        if (comma < 0 || !uri.AsSpan(0, comma).EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            throw new ImageLoadException(ImageLoadFailure.InvalidBase64, source,
                "only base64 data URIs (data:image/...;base64,...) are supported.");
        return DecodeBase64(uri[(comma + 1)..], source);
    }

    private RgbImage DecodeBase64(string base64, string source) =>
        TryFromBase64(base64, out var encoded)
            ? ImageDecoder.Decode(encoded, source, Options)
            : throw new ImageLoadException(ImageLoadFailure.InvalidBase64, source,
                "is not valid base64 (nor an existing file or an http(s) URL).");

    private static bool TryFromBase64(string text, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromBase64String(text.Trim());
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }

    private static bool LooksLikePath(string source) =>
        source.Contains('/') || source.Contains('\\') || Path.HasExtension(source);

    private static string Quote(string text) => text.Length <= 200 ? $"'{text}'" : $"'{text[..197]}...'";
}
