namespace VqaPipeline.Ml.Imaging;

/// <summary>Limits applied while loading an image.</summary>
public sealed record ImageLoadOptions
{
    /// <summary>
    /// Largest width * height accepted, checked on the header before any pixel is decoded (decompression bombs).
    /// The default is Pillow's <c>Image.MAX_IMAGE_PIXELS</c>.
    /// </summary>
    public long MaxPixels { get; init; } = 89_478_485;

    /// <summary>How long an http(s) download may take in all.</summary>
    public TimeSpan HttpTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
