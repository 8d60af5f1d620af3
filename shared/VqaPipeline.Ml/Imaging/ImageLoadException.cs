namespace VqaPipeline.Ml.Imaging;

/// <summary>Why an image could not be loaded.</summary>
public enum ImageLoadFailure
{
    NotFound,
    Empty,
    NotAnImage,
    Truncated,
    Corrupt,
    TooLarge,
    Unreachable,
    InvalidBase64,
}

/// <summary>An image source that cannot be turned into an <see cref="RgbImage"/>; the message names the source.</summary>
public sealed class ImageLoadException : VqaPipelineException
{
    public ImageLoadException(ImageLoadFailure reason, string source, string problem, Exception? inner = null)
        : base($"Image {source}: {problem}", inner)
    {
        Reason = reason;
        ImageSource = source;
    }

    public ImageLoadFailure Reason { get; }

    /// <summary>The source as shown in the message: a quoted path or URL, or a short description of in-memory data.</summary>
    public string ImageSource { get; }
}
