using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Tests.Imaging;

/// <summary>Pillow's <c>Image.transpose</c> methods written out pixel by pixel, as <c>ImageOps.exif_transpose</c> picks them.</summary>
internal static class PillowTranspose
{
    public static Func<RgbImage, RgbImage> ForExifOrientation(int orientation) => orientation switch
    {
        1 => image => image,
        2 => FlipLeftRight,
        3 => Rotate180,
        4 => FlipTopBottom,
        5 => Transpose,
        6 => Rotate270,
        7 => Transverse,
        8 => Rotate90,
        _ => throw new ArgumentOutOfRangeException(nameof(orientation)),
    };

    private static RgbImage FlipLeftRight(RgbImage i) => Remap(i, i.Width, i.Height, (x, y) => (i.Width - 1 - x, y));

    private static RgbImage FlipTopBottom(RgbImage i) => Remap(i, i.Width, i.Height, (x, y) => (x, i.Height - 1 - y));

    private static RgbImage Rotate180(RgbImage i) =>
        Remap(i, i.Width, i.Height, (x, y) => (i.Width - 1 - x, i.Height - 1 - y));

    // Counter-clockwise: the top-right corner becomes the top-left one.
    private static RgbImage Rotate90(RgbImage i) => Remap(i, i.Height, i.Width, (x, y) => (i.Width - 1 - y, x));

    // Counter-clockwise by 270, i.e. clockwise by 90: the bottom-left corner becomes the top-left one.
    private static RgbImage Rotate270(RgbImage i) => Remap(i, i.Height, i.Width, (x, y) => (y, i.Height - 1 - x));

    private static RgbImage Transpose(RgbImage i) => Remap(i, i.Height, i.Width, (x, y) => (y, x));

    private static RgbImage Transverse(RgbImage i) =>
        Remap(i, i.Height, i.Width, (x, y) => (i.Width - 1 - y, i.Height - 1 - x));

    private static RgbImage Remap(RgbImage image, int width, int height, Func<int, int, (int X, int Y)> sourceOf)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var (sourceX, sourceY) = sourceOf(x, y);
            image.Pixels.AsSpan((sourceY * image.Width + sourceX) * 3, 3).CopyTo(pixels.AsSpan((y * width + x) * 3));
        }
        return new RgbImage(width, height, pixels);
    }
}
