namespace VqaPipeline.Ml.Imaging;

/// <summary>Height and width of one image in pixels.</summary>
public readonly record struct ImageSize(int Height, int Width);

/// <summary>
/// What an image processor returns for a batch, laid out as transformers returns it with <c>return_tensors="pt"</c>.
/// </summary>
/// <param name="PixelValues">(BatchSize, 3, Height, Width) in C order; zero in the padding.</param>
/// <param name="PixelMask">(BatchSize, Height, Width): 1 on an image's pixels, 0 on padding; null when the processor
/// returns no mask (BLIP, or ViLT with <c>do_pad</c> off).</param>
/// <param name="BatchSize">Number of images.</param>
/// <param name="Height">Padded height shared by the batch.</param>
/// <param name="Width">Padded width shared by the batch.</param>
/// <param name="ImageSizes">Each image's resized size: the top-left block of its slot that holds pixels.</param>
public sealed record ImageBatch(
    float[] PixelValues,
    long[]? PixelMask,
    int BatchSize,
    int Height,
    int Width,
    IReadOnlyList<ImageSize> ImageSizes);

/// <summary>Turns RGB images into model input; implemented by the ViLT and BLIP processors.</summary>
public interface IImageProcessor
{
    /// <summary>Resizes, rescales and normalizes each image (in parallel) and stacks them into one batch.</summary>
    ImageBatch Preprocess(IReadOnlyList<RgbImage> images);
}
