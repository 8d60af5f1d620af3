using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Tests.Imaging;

/// <summary>
/// The fixtures check two-pass resizes against Pillow; these check the one-axis paths by symmetry (Pillow's passes
/// are the same convolution along either axis) and the fixed-point rounding on flat colour.
/// </summary>
public class PillowResamplerTests
{
    private static readonly RgbImage Image = new ImageLoader().LoadFile(Fixtures.PathOf("images", "tiny_14x25.png"));

    [Theory]
    [InlineData(14, 40)]
    [InlineData(14, 9)]
    [InlineData(14, 25)]
    public void Vertical_only_resize_mirrors_horizontal_only_resize(int width, int height)
    {
        var vertical = PillowResampler.ResizeBicubic(Image, width, height);
        var horizontal = PillowResampler.ResizeBicubic(Swap(Image), height, width);
        Assert.Equal(Swap(horizontal).Pixels, vertical.Pixels);
    }

    [Theory]
    [InlineData(3, 7)]
    [InlineData(384, 512)]
    [InlineData(640, 1)]
    public void Flat_colour_stays_flat(int width, int height)
    {
        var flat = new RgbImage(31, 17, Enumerable.Repeat(new byte[] { 0, 128, 255 }, 31 * 17).SelectMany(p => p).ToArray());
        var resized = PillowResampler.ResizeBicubic(flat, width, height);
        Assert.Equal((width, height), (resized.Width, resized.Height));
        Assert.All(resized.Pixels.Chunk(3), pixel => Assert.Equal([0, 128, 255], pixel));
    }

    [Fact]
    public void Same_size_is_a_copy()
    {
        var copy = PillowResampler.ResizeBicubic(Image, Image.Width, Image.Height);
        Assert.NotSame(Image.Pixels, copy.Pixels);
        Assert.Equal(Image.Pixels, copy.Pixels);
    }

    private static RgbImage Swap(RgbImage image)
    {
        var pixels = new byte[image.Pixels.Length];
        for (var y = 0; y < image.Height; y++)
        for (var x = 0; x < image.Width; x++)
            image.Pixels.AsSpan((y * image.Width + x) * 3, 3).CopyTo(pixels.AsSpan((x * image.Height + y) * 3));
        return new RgbImage(image.Height, image.Width, pixels);
    }
}
