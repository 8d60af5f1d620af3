namespace VqaPipeline.Ingestion;

/// <summary>
/// Tells an image from anything else by its first bytes. Only a cheap gate: the preprocessing service decodes the
/// image and rejects what does not decode.
/// </summary>
internal static class ImageSignature
{
    public const int PrefixLength = 12;

    /// <summary>The media type of the image format <paramref name="prefix"/> starts, or <c>null</c> for none.</summary>
    public static string? MediaTypeOf(ReadOnlySpan<byte> prefix) => prefix switch
    {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => "image/png",
        [(byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'7' or (byte)'9', (byte)'a', ..] => "image/gif",
        [(byte)'B', (byte)'M', ..] => "image/bmp",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => "image/webp",
        _ => null,
    };

    /// <summary>True when <paramref name="prefix"/> starts a zip archive (a local file header or an empty archive).</summary>
    public static bool IsZip(ReadOnlySpan<byte> prefix) =>
        prefix is [(byte)'P', (byte)'K', 0x03, 0x04, ..] or [(byte)'P', (byte)'K', 0x05, 0x06, ..];

    /// <summary>Reads up to <see cref="PrefixLength"/> bytes from a seekable stream and rewinds it.</summary>
    public static async Task<byte[]> PeekAsync(Stream content, CancellationToken cancellationToken)
    {
        var start = content.Position;
        var buffer = new byte[PrefixLength];
        var read = await content.ReadAtLeastAsync(buffer, PrefixLength, throwOnEndOfStream: false, cancellationToken);
        content.Position = start;
        return buffer[..read];
    }
}
