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
    public void WriteChannelsFirst(RgbImage image, Span<float> slot, int height, int width)
    {
        var table = _table.AsSpan();
        var pixels = image.Pixels.AsSpan();
        var plane = height * width;
        for (var y = 0; y < image.Height; y++)
        {
            var row = pixels.Slice(y * image.Width * 3, image.Width * 3);
            var red = slot.Slice(y * width, image.Width);
            var green = slot.Slice(plane + y * width, image.Width);
            var blue = slot.Slice(2 * plane + y * width, image.Width);
            for (var x = 0; x < red.Length; x++)
            {
                red[x] = table[row[x * 3]];
                green[x] = table[256 + row[x * 3 + 1]];
                blue[x] = table[512 + row[x * 3 + 2]];
            }
        }
    }
}
