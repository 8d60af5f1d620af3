namespace VqaPipeline.Ingestion.Data;

/// <summary>A named set of images that questions are asked about.</summary>
public sealed class Collection
{
    /// <summary>The collection's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The team that owns it (and so its images, labels and imports); <see cref="Guid.Empty"/> for collections from before teams.</summary>
    public Guid TeamId { get; set; }

    /// <summary>Its name, unique among its team's collections.</summary>
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

/// <summary>What a label change did.</summary>
public enum LabelChangeKind
{
    /// <summary>The label was written for the first time.</summary>
    Created,

    /// <summary>Its answers were replaced.</summary>
    Updated,

    /// <summary>It was removed.</summary>
    Deleted,
}

/// <summary>
/// One change of a label, written in the transaction of the change: who (team, key prefix, role as the gateway said),
/// when, and the answers before and after. Kept after the label is deleted.
/// </summary>
public sealed class LabelChange
{
    /// <summary>Increasing with every change: the order of the history.</summary>
    public long Id { get; set; }

    /// <summary>The label changed.</summary>
    public Guid LabelId { get; set; }

    /// <summary>The collection of the label.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The image the label is about.</summary>
    public Guid ImageId { get; set; }

    /// <summary>The label's question.</summary>
    public required string Question { get; set; }

    /// <summary>What the change did.</summary>
    public LabelChangeKind Kind { get; set; }

    /// <summary>The answers before the change (null when it created the label).</summary>
    public List<string>? Before { get; set; }

    /// <summary>The answers after the change (null when it deleted the label).</summary>
    public List<string>? After { get; set; }

    /// <summary>When it was made.</summary>
    public DateTimeOffset ChangedAt { get; set; }

    /// <summary>The team of the key that made it.</summary>
    public Guid TeamId { get; set; }

    /// <summary>The name of that team.</summary>
    public required string Team { get; set; }

    /// <summary>The prefix of the API key that made it (never the key), when the gateway named it.</summary>
    public string? KeyPrefix { get; set; }

    /// <summary>The role of that key.</summary>
    public required string Role { get; set; }
}

/// <summary>Where a bucket import is: still listing and registering, done, or stopped by an error.</summary>
public enum ImportState
{
    /// <summary>Listing and registering; a restarted service goes on from <see cref="BucketImport.LastKey"/>.</summary>
    Running,

    /// <summary>Every object under the prefix was handled.</summary>
    Completed,

    /// <summary>Stopped; <see cref="BucketImport.FailureReason"/> says why.</summary>
    Failed,
}

/// <summary>
/// The registration of the images under a prefix of a bucket into a collection, object by object in key order. Each
/// object's outcome and the import's progress commit together, so the counts stay exact across restarts.
/// </summary>
public sealed class BucketImport
{
    /// <summary>The import's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The collection the images join.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The team of the collection, whose images these become (<see cref="Contracts.V1.ImageIngested.TeamId"/>).</summary>
    public Guid TeamId { get; set; }

    /// <summary>The bucket listed.</summary>
    public required string Bucket { get; set; }

    /// <summary>Only keys starting with this are imported (empty: the whole bucket).</summary>
    public required string Prefix { get; set; }

    /// <summary>Where the import is.</summary>
    public ImportState State { get; set; } = ImportState.Running;

    /// <summary>Why it failed, when <see cref="State"/> is <see cref="ImportState.Failed"/>.</summary>
    public string? FailureReason { get; set; }

    /// <summary>The last key handled: the listing resumes after it (S3 <c>start-after</c>).</summary>
    public string? LastKey { get; set; }

    /// <summary>Objects listed and handled so far (registered + duplicates + skipped).</summary>
    public long Listed { get; set; }

    /// <summary>Objects that became new images of the collection.</summary>
    public long Registered { get; set; }

    /// <summary>Objects whose content was already an image of the collection (by SHA-256).</summary>
    public long Duplicates { get; set; }

    /// <summary>Objects not imported (not an image, too large, unreadable); <see cref="SkippedObject"/> says why.</summary>
    public long Skipped { get; set; }

    /// <summary>When the import was asked for.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it last made progress or changed state.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>An object of a bucket import that did not become an image, and why.</summary>
public sealed class SkippedObject
{
    /// <summary>The import.</summary>
    public Guid ImportId { get; set; }

    /// <summary>The object's key.</summary>
    public required string Key { get; set; }

    /// <summary>Why it was skipped.</summary>
    public required string Reason { get; set; }

    /// <summary>When it was skipped.</summary>
    public DateTimeOffset SkippedAt { get; set; }
}
