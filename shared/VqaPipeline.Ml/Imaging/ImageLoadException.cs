namespace VqaPipeline.Ml.Imaging;

/// <summary>Why an image could not be loaded.</summary>
public enum ImageLoadFailure
{
    /// <summary>No such file, or the server answered 404.</summary>
    NotFound,
    /// <summary>Zero bytes.</summary>
    Empty,
    /// <summary>Not a JPEG, PNG, WebP, GIF or BMP.</summary>
    NotAnImage,
    /// <summary>The data ends early (Pillow: "image file is truncated").</summary>
    Truncated,
    /// <summary>The decoder rejected the data.</summary>
    Corrupt,
    /// <summary>More pixels than <see cref="ImageLoadOptions.MaxPixels"/>.</summary>
    TooLarge,
    /// <summary>The URL could not be fetched in time, or the server answered with an error.</summary>
    Unreachable,
    /// <summary>Text that is neither a file, a URL nor valid base64.</summary>
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
