using System.Runtime.InteropServices;
using SkiaSharp;

namespace VqaPipeline.Ml.Imaging;

/// <summary>
/// Decodes encoded bytes the way transformers' <c>load_image</c> sees them through Pillow: EXIF orientation applied
/// (<c>ImageOps.exif_transpose</c>), then <c>convert("RGB")</c>, which drops alpha without compositing. SkiaSharp
/// decodes; where Pillow's result differs from Skia's, the difference is made up here: the orientation is read as
/// Pillow reads it, a GIF's transparent pixels keep their palette colour, and 16-bit PNG samples are narrowed as
/// Pillow narrows them. docs/image-formats.md lists what is exact.
/// </summary>
internal static class ImageDecoder
{
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string source, ImageLoadOptions options)
    {
        if (encoded.IsEmpty)
            throw new ImageLoadException(ImageLoadFailure.Empty, source, "is empty (0 bytes).");

        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var openResult);
        if (codec is null)
            throw openResult == SKCodecResult.IncompleteInput && StartsWithImageSignature(encoded)
                ? new ImageLoadException(ImageLoadFailure.Truncated, source, "image file is truncated (the header is incomplete).")
                : new ImageLoadException(ImageLoadFailure.NotAnImage, source,
                    "is not a JPEG, PNG, WebP, GIF or BMP image (unrecognised header).");

        var (width, height) = (codec.Info.Width, codec.Info.Height);
        var pixelCount = (long)width * height;
        if (pixelCount > options.MaxPixels || pixelCount * 4 > Array.MaxLength)
            throw new ImageLoadException(ImageLoadFailure.TooLarge, source,
                $"is {width}x{height} = {pixelCount:N0} pixels, over the limit of {options.MaxPixels:N0} " +
                "(ImageLoadOptions.MaxPixels); refusing to decode a possible decompression bomb.");

        var orientation = (SKEncodedOrigin)PillowExifOrientation.Read(encoded, source);
        return DecodeOriented(codec, encoded, source, width, height, orientation);
    }

    /// <summary>
    /// Decodes into RGBA scratch memory outside the managed heap, freed as soon as the RGB image is made: a large
    /// image's scratch (4 bytes a pixel, up to 358 MB) neither waits for a full garbage collection nor stays behind
    /// in a shared array pool, one per thread that ever decoded.
    /// </summary>
    private static unsafe RgbImage DecodeOriented(SKCodec codec, ReadOnlySpan<byte> encoded, string source, int width, int height,
        SKEncodedOrigin orientation)
    {
        var length = width * height * 4;
        var scratch = (byte*)NativeMemory.Alloc((nuint)length);
        try
        {
            var rgba = new Span<byte>(scratch, length);
            var decodeResult = codec.GetPixels(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), (IntPtr)scratch);
            if (decodeResult == SKCodecResult.Success && codec.EncodedFormat == SKEncodedImageFormat.Gif)
                ShowGifBackground(encoded, rgba);
            if (decodeResult == SKCodecResult.Success && SixteenBitGrayPng.Is(encoded))
                ClipSixteenBitGray(encoded, source, rgba);
            return decodeResult switch
            {
                SKCodecResult.Success => Orient(scratch, width, height, orientation),
                SKCodecResult.IncompleteInput => throw new ImageLoadException(ImageLoadFailure.Truncated, source,
                    $"image file is truncated ({codec.EncodedFormat} data ends before the last row)."),
                _ => throw new ImageLoadException(ImageLoadFailure.Corrupt, source,
                    $"{codec.EncodedFormat} data is corrupt (decoder said {decodeResult})."),
            };
        }
        finally
        {
            NativeMemory.Free(scratch);
        }
    }

    // Skia also says "incomplete" for any input shorter than its longest signature, such as a short text file.
    internal static bool StartsWithImageSignature(ReadOnlySpan<byte> encoded) =>
        encoded.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])
        || encoded.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])
        || encoded.StartsWith("GIF8"u8)
        || encoded.StartsWith("RIFF"u8)
        || encoded.StartsWith("BM"u8);

    // Unpremultiplied and without a colour space: colour values come out as stored, as Pillow reads them.
    // Pillow's mode "I" for a 16-bit gray PNG clips to 255 in convert("RGB"); Skia gave the high bytes instead.
    private static void ClipSixteenBitGray(ReadOnlySpan<byte> png, string source, Span<byte> rgba)
    {
        var levels = SixteenBitGrayPng.Decode(png)
                     ?? throw new ImageLoadException(ImageLoadFailure.Corrupt, source, "16-bit gray PNG data is corrupt.");
        for (var pixel = 0; pixel < levels.Length; pixel++)
            rgba[4 * pixel] = rgba[4 * pixel + 1] = rgba[4 * pixel + 2] = (byte)Math.Min(levels[pixel], (ushort)255);
    }

    private static void ShowGifBackground(ReadOnlySpan<byte> gif, Span<byte> rgba)
    {
        if (GifFirstFrame.BackgroundColour(gif) is not var (red, green, blue)) return;
        for (var pixel = 0; pixel < rgba.Length; pixel += 4)
        {
            if (rgba[pixel + 3] != 0) continue;
            rgba[pixel] = red;
            rgba[pixel + 1] = green;
            rgba[pixel + 2] = blue;
        }
    }

    /// <summary>Drops alpha and applies the EXIF orientation in one pass over the decoded RGBA pixels.</summary>
    private static unsafe RgbImage Orient(byte* sourcePixels, int width, int height, SKEncodedOrigin origin)
    {
        var swapsAxes = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop
            or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var (outWidth, outHeight) = swapsAxes ? (height, width) : (width, height);
        var rgb = new byte[(long)outWidth * outHeight * 3];

        fixed (byte* targetPixels = rgb)
        {
            for (var sourceY = 0; sourceY < height; sourceY++)
            {
                var (x0, y0) = Destination(origin, 0, sourceY, width, height);
                var (x1, y1) = Destination(origin, 1, sourceY, width, height);
                var target = targetPixels + ((long)y0 * outWidth + x0) * 3;
                var step = ((long)(y1 - y0) * outWidth + (x1 - x0)) * 3;
                var source = sourcePixels + (long)sourceY * width * 4;
                for (var sourceX = 0; sourceX < width; sourceX++, source += 4, target += step)
                {
                    target[0] = source[0];
                    target[1] = source[1];
                    target[2] = source[2];
                }
            }
        }
        return new RgbImage(outWidth, outHeight, rgb);
    }

    /// <summary>
    /// Where stored pixel (x, y) lands once shown upright; the EXIF values map to Pillow's transposes
    /// (2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90).
    /// </summary>
    private static (int X, int Y) Destination(SKEncodedOrigin origin, int x, int y, int width, int height) => origin switch
    {
        SKEncodedOrigin.TopRight => (width - 1 - x, y),
        SKEncodedOrigin.BottomRight => (width - 1 - x, height - 1 - y),
        SKEncodedOrigin.BottomLeft => (x, height - 1 - y),
        SKEncodedOrigin.LeftTop => (y, x),
        SKEncodedOrigin.RightTop => (height - 1 - y, x),
        SKEncodedOrigin.RightBottom => (height - 1 - y, width - 1 - x),
        SKEncodedOrigin.LeftBottom => (y, width - 1 - x),
        _ => (x, y),
    };
}
