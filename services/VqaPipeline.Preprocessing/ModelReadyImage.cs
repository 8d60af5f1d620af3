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

    /// <summary>
    /// The image as an opaque 8-bit PNG. The RGBA pixels handed to the encoder live in a native bitmap, freed when the
    /// PNG is made, so a large image's 4 bytes a pixel do not wait on the managed heap for a full collection.
    /// </summary>
    public static unsafe byte[] EncodePng(RgbImage image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var rgba = (byte*)bitmap.GetPixels();
        if (rgba is null)
            throw new InvalidOperationException($"SkiaSharp could not allocate a {image.Width}x{image.Height} bitmap");
        fixed (byte* rgb = image.Pixels)
        {
            var pixels = (long)image.Width * image.Height;
            for (long pixel = 0; pixel < pixels; pixel++)
            {
                rgba[4 * pixel] = rgb[3 * pixel];
                rgba[4 * pixel + 1] = rgb[3 * pixel + 1];
                rgba[4 * pixel + 2] = rgb[3 * pixel + 2];
                rgba[4 * pixel + 3] = byte.MaxValue;
            }
        }
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not PNG-encode a {image.Width}x{image.Height} image");
        return encoded.ToArray();
    }

    /// <summary>
    /// Width × height and the container format (<c>jpeg</c>, <c>png</c>, <c>webp</c>, <c>gif</c>, <c>bmp</c>) from the
    /// header of encoded bytes, without decoding them; <c>(0, null)</c> when no decoder recognises them (the engine's
    /// loader then rejects them with its reason).
    /// </summary>
    public static (long Pixels, string? Format) ReadHeader(byte[] encoded)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        return codec is null ? (0, null) : ((long)codec.Info.Width * codec.Info.Height, codec.EncodedFormat.ToString().ToLowerInvariant());
    }
}
