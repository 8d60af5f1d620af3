namespace VqaPipeline.Ml.Imaging;

/// <summary>
/// Rescale and normalize as transformers does them on a uint8 image, kept exact by a lookup table per channel:
/// <c>float32(u8 * rescale_factor)</c> in double, then <c>(x - float32(mean)) / float32(std)</c> in float32.
/// </summary>
internal sealed class PixelNormalizer
{
    private readonly float[] _table = new float[3 * 256];

    public PixelNormalizer(bool doRescale, double rescaleFactor, bool doNormalize, double[] mean, double[] std)
    {
        for (var channel = 0; channel < 3; channel++)
        {
            for (var value = 0; value < 256; value++)
            {
                var scaled = doRescale ? (float)(value * rescaleFactor) : value;
                _table[channel * 256 + value] = doNormalize
                    ? (scaled - (float)mean[channel]) / (float)std[channel]
                    : scaled;
            }
        }
    }

    /// <summary>Writes <paramref name="image"/> channels-first into the top-left of a (3, height, width) slot.</summary>
    public unsafe void WriteChannelsFirst(RgbImage image, Span<float> slot, int height, int width)
    {
        if (slot.Length != 3 * height * width || image.Height > height || image.Width > width)
            throw new ArgumentException("The slot does not fit the image.", nameof(slot));
        var plane = height * width;
        fixed (float* table = _table, target = slot)
        fixed (byte* pixels = image.Pixels)
        {
            for (var y = 0; y < image.Height; y++)
            {
                var pixel = pixels + (long)y * image.Width * 3;
                var red = target + y * width;
                var green = red + plane;
                var blue = green + plane;
                for (var x = 0; x < image.Width; x++, pixel += 3)
                {
                    red[x] = table[pixel[0]];
                    green[x] = table[256 + pixel[1]];
                    blue[x] = table[512 + pixel[2]];
                }
            }
        }
    }
}
