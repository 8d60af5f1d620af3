using VqaPipeline.Ml.Imaging;
namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>
/// transformers' <c>ViltImageProcessor</c>: the short side goes to <c>size.shortest_edge</c> with the long side capped
/// at <c>int(1333 / 800 * shortest_edge)</c>, both floored to a multiple of <c>size_divisor</c>; PIL bicubic resize,
/// rescale, normalize; a batch is zero-padded bottom/right to its largest height and width, with a pixel mask.
/// </summary>
public sealed class ViltImageProcessor : IImageProcessor
{
    private const string Name = "ViltImageProcessor";
    private readonly PixelNormalizer _normalizer;

    private ViltImageProcessor(ViltImageProcessorConfig config)
    {
        PreprocessorConfigFile.Check(Name, config.Resample, config.ImageMean, config.ImageStd);
        if (config.DoResize && (config.Size?.ShortestEdge is not > 0 || config.SizeDivisor <= 0))
            throw new VqaPipelineException(
                $"{Name}: size needs a positive shortest_edge and size_divisor must be positive.");
        Config = config;
        _normalizer = new PixelNormalizer(
            config.DoRescale, config.RescaleFactor, config.DoNormalize, config.ImageMean, config.ImageStd);
    }

    public ViltImageProcessorConfig Config { get; }

    /// <summary>Reads <c>preprocessor_config.json</c> from a model folder.</summary>
    public static ViltImageProcessor FromPretrained(string folder) =>
        new(PreprocessorConfigFile.Read<ViltImageProcessorConfig>(folder));

    public static ViltImageProcessor FromConfig(ViltImageProcessorConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ViltImageProcessor(config);
    }

    /// <summary>The size an image of the given size is resized to (unchanged when <c>do_resize</c> is off).</summary>
    public ImageSize OutputSize(int height, int width)
    {
        if (!Config.DoResize)
            return new ImageSize(height, width);
        var shorter = Config.Size.ShortestEdge!.Value;
        var longer = (int)(1333.0 / 800 * shorter);

        var scale = (double)shorter / Math.Min(height, width);
        var (newHeight, newWidth) = height < width ? ((double)shorter, scale * width) : (scale * height, (double)shorter);
        var longest = Math.Max(newHeight, newWidth);
        if (longest > longer)
        {
            scale = longer / longest;
            (newHeight, newWidth) = (scale * newHeight, scale * newWidth);
        }
        var divisor = Config.SizeDivisor;
        return new ImageSize((int)(newHeight + 0.5) / divisor * divisor, (int)(newWidth + 0.5) / divisor * divisor);
    }

    public ImageBatch Preprocess(RgbImage image) => Preprocess([image]);

    public ImageBatch Preprocess(IReadOnlyList<RgbImage> images) =>
        ImageBatchAssembler.Assemble(images, image => Checked(OutputSize(image.Height, image.Width), image),
            _normalizer, Config.DoPad, Name);

    private static ImageSize Checked(ImageSize size, RgbImage image) =>
        size.Height > 0 && size.Width > 0
            ? size
            : throw new VqaPipelineException(
                $"{Name}: a {image.Width}x{image.Height} image is too thin; it would be resized to " +
                $"{size.Width}x{size.Height}.");
}
