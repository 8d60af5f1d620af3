namespace VqaPipeline.Ingestion.Data;

/// <summary>A named set of images that questions are asked about.</summary>
public sealed class Collection
{
    /// <summary>The collection's id.</summary>
    public Guid Id { get; set; }

    /// <summary>Its name, unique across collections.</summary>
    public required string Name { get; set; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The images in it.</summary>
    public List<Image> Images { get; set; } = [];
}

/// <summary>Where an image is in its life: stored and waiting, usable, or refused.</summary>
public enum ImageStatus
{
    /// <summary>Stored, not yet preprocessed.</summary>
    Pending,

    /// <summary>Preprocessed; questions can be asked about it.</summary>
    Ready,

    /// <summary>Refused by preprocessing; <see cref="Image.RejectionReason"/> says why.</summary>
    Rejected,
}

/// <summary>
/// One image of a collection. The same bytes (by SHA-256) appear at most once per collection. Its state follows what
/// the preprocessing service announces (<c>ImagePreprocessed</c>, <c>ImageRejected</c>).
/// </summary>
public sealed class Image
{
    /// <summary>The image's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The collection it belongs to.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The collection it belongs to.</summary>
    public Collection? Collection { get; set; }

    /// <summary>Lower-case hex SHA-256 of the original bytes.</summary>
    public required string Sha256 { get; set; }

    /// <summary>Object storage key of the original.</summary>
    public required string ObjectKey { get; set; }

    /// <summary>The file name it was uploaded under.</summary>
    public required string FileName { get; set; }

    /// <summary>The media type the client declared.</summary>
    public required string ContentType { get; set; }

    /// <summary>Size of the original in bytes.</summary>
    public long SizeBytes { get; set; }

    /// <summary>The decoded format, once preprocessed.</summary>
    public string? Format { get; set; }

    /// <summary>Width in pixels, once preprocessed.</summary>
    public int? Width { get; set; }

    /// <summary>Height in pixels, once preprocessed.</summary>
    public int? Height { get; set; }

    /// <summary>Object storage key of the preprocessed image, once there is one.</summary>
    public string? PreprocessedObjectKey { get; set; }

    /// <summary>Where the image is in its life.</summary>
    public ImageStatus Status { get; set; } = ImageStatus.Pending;

    /// <summary>Why preprocessing refused it, when <see cref="Status"/> is <see cref="ImageStatus.Rejected"/>.</summary>
    public string? RejectionReason { get; set; }

    /// <summary>When it was recorded.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// The human answers to one question about one image: what a catalog team says is right. A later label for the same
/// image and question replaces the earlier one; labels of a collection are a training dataset.
/// </summary>
public sealed class ImageLabel
{
    /// <summary>The label's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The collection of the image.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The image the question is about.</summary>
    public Guid ImageId { get; set; }

    /// <summary>The question as written.</summary>
    public required string Question { get; set; }

    /// <summary>The human answers (one per annotator; one answer means everyone agrees).</summary>
    public required List<string> Answers { get; set; }

    /// <summary>When the label was last written.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}
