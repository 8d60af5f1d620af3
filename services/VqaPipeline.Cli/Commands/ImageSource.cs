using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Cli.Commands;

/// <summary>Loads an image named on the command line: what <see cref="ImageLoader"/> accepts, plus <c>-</c> for stdin.</summary>
internal static class ImageSource
{
    public const string StandardInput = "-";

    public static async Task<RgbImage> LoadAsync(string source, CancellationToken cancellationToken)
    {
        var loader = new ImageLoader();
        if (source == StandardInput)
        {
            if (!Console.IsInputRedirected)
                throw new CliUsageException("image '-' reads from stdin, but stdin is a terminal: pipe the image in (vqa ask - ... < photo.jpg).");
            using var buffer = new MemoryStream();
            await using var stdin = Console.OpenStandardInput();
            await stdin.CopyToAsync(buffer, cancellationToken);
            return loader.LoadBytes(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        }
        // The loader would try a folder's name as base64 and report an unknown image format.
        if (Directory.Exists(source))
            throw new CliUsageException($"image '{source}' is a directory; pass an image file inside it.");
        return await loader.LoadAsync(source, cancellationToken);
    }
}
