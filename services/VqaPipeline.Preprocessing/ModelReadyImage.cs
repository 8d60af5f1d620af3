using System.Runtime.InteropServices;
using SkiaSharp;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Preprocessing;

/// <summary>
/// The stored form of a preprocessed image: the decoded <see cref="RgbImage"/> (EXIF orientation applied, RGB) as an
/// opaque 8-bit PNG, so the models read exactly the pixels the engine decoded, losslessly.
/// </summary>
public static class ModelReadyImage
{
    public const string ContentType = "image/png";

    /// <summary>Storage prefix of preprocessed images, next to <c>originals/</c>.</summary>
    public const string Prefix = "preprocessed";

    public static byte[] EncodePng(RgbImage image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var rgba = new byte[info.BytesSize];
        var rgb = image.Pixels;
        for (int source = 0, target = 0; source < rgb.Length; source += 3, target += 4)
        {
            rgba[target] = rgb[source];
            rgba[target + 1] = rgb[source + 1];
            rgba[target + 2] = rgb[source + 2];
            rgba[target + 3] = byte.MaxValue;
        }

        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var encoded = pixmap.Encode(SKEncodedImageFormat.Png, 100)
                ?? throw new InvalidOperationException($"SkiaSharp could not PNG-encode a {image.Width}x{image.Height} image");
            return encoded.ToArray();
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>The container format of bytes the engine has decoded (<c>jpeg</c>, <c>png</c>, <c>webp</c>, <c>gif</c>, <c>bmp</c>).</summary>
    public static string FormatOf(byte[] encoded)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidOperationException("bytes that decoded as an image have no recognisable format");
        return codec.EncodedFormat.ToString().ToLowerInvariant();
    }
}
