using System.IO.Compression;
using SkiaSharp;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Preprocessing;

namespace VqaPipeline.Pipeline.Tests.Support;

/// <summary>Generated images whose bytes (and so SHA-256) depend on their seed, and zip archives.</summary>
public static class TestImages
{
    public static byte[] Png(int seed, int width = 64, int height = 48) => ModelReadyImage.EncodePng(Noise(seed, width, height));

    public static byte[] Jpeg(int seed, int width = 64, int height = 48)
    {
        var image = Noise(seed, width, height);
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 3;
                bitmap.SetPixel(x, y, new SKColor(image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]));
            }
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return encoded.ToArray();
    }

    public static byte[] Zip(IEnumerable<(string Path, byte[] Bytes)> entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (path, bytes) in entries)
            {
                using var stream = zip.CreateEntry(path).Open();
                stream.Write(bytes);
            }
        return buffer.ToArray();
    }

    private static RgbImage Noise(int seed, int width, int height)
    {
        var pixels = new byte[width * height * 3];
        new Random(seed).NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }
}
