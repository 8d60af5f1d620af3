namespace VqaPipeline.Ml.Imaging;

/// <summary>
/// An 8-bit RGB image, rows top to bottom, pixels interleaved (height, width, 3): what Pillow's <c>convert("RGB")</c>
/// gives and what the image processors expect.
/// </summary>
public sealed class RgbImage
{
    /// <summary>Wraps <paramref name="pixels"/> (not copied), which must hold exactly width * height * 3 bytes.</summary>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != (long)width * height * 3)
            throw new ArgumentException($"A {width}x{height} RGB image needs {(long)width * height * 3} bytes, got {pixels.Length}.", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Interleaved R, G, B bytes in row-major order.</summary>
    public byte[] Pixels { get; }
}
