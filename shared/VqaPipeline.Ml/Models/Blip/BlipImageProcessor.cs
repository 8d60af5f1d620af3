using VqaPipeline.Ml.Imaging;
namespace VqaPipeline.Ml.Models.Blip;

/// <summary>
/// transformers' <c>BlipImageProcessor</c> (BLIP and BLIP-2): PIL bicubic resize straight to
/// <c>size.height</c> x <c>size.width</c> (aspect ratio not kept), rescale, normalize with the CLIP mean and std.
/// Returns no pixel mask.
/// </summary>
public sealed class BlipImageProcessor : IImageProcessor
{
    private const string Name = "BlipImageProcessor";
    private readonly PixelNormalizer _normalizer;

    private BlipImageProcessor(BlipImageProcessorConfig config)
    {
        PreprocessorConfigFile.Check(Name, config.Resample, config.ImageMean, config.ImageStd);
        if (config.DoResize && (config.Size?.Height is not > 0 || config.Size.Width is not > 0))
            throw new VqaPipelineException($"{Name}: size needs a positive height and width.");
        Config = config;
        _normalizer = new PixelNormalizer(
            config.DoRescale, config.RescaleFactor, config.DoNormalize, config.ImageMean, config.ImageStd);
    }

    public BlipImageProcessorConfig Config { get; }

    /// <summary>Reads <c>preprocessor_config.json</c> from a model folder.</summary>
    public static BlipImageProcessor FromPretrained(string folder) =>
        new(PreprocessorConfigFile.Read<BlipImageProcessorConfig>(folder));

    public static BlipImageProcessor FromConfig(BlipImageProcessorConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new BlipImageProcessor(config);
    }

    public ImageBatch Preprocess(RgbImage image) => Preprocess([image]);

    public ImageBatch Preprocess(IReadOnlyList<RgbImage> images) =>
        ImageBatchAssembler.Assemble(images,
            image => Config.DoResize
                ? new ImageSize(Config.Size.Height!.Value, Config.Size.Width!.Value)
                : new ImageSize(image.Height, image.Width),
            _normalizer, pad: false, Name);
}
