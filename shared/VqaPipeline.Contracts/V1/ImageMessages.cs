namespace VqaPipeline.Contracts.V1;

/// <summary>
/// An original image was stored in object storage and recorded as pending in its collection. Published by the
/// ingestion service; the preprocessing service answers with <see cref="ImagePreprocessed"/> or
/// <see cref="ImageRejected"/> for the same <see cref="ImageId"/>.
/// </summary>
/// <param name="CollectionId">The collection the image belongs to.</param>
/// <param name="ImageId">The image's id, stable for its whole life.</param>
/// <param name="ObjectKey">Where the original bytes are stored (<c>originals/{sha256}</c>).</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the original bytes.</param>
/// <param name="FileName">The file name the client uploaded it under.</param>
/// <param name="ContentType">The media type the client declared.</param>
/// <param name="SizeBytes">Size of the original in bytes.</param>
/// <param name="IngestedAt">When the ingestion service accepted it.</param>
[PublishedBy(Services.Ingestion)]
public sealed record ImageIngested(
    Guid CollectionId,
    Guid ImageId,
    string ObjectKey,
    string Sha256,
    string FileName,
    string ContentType,
    long SizeBytes,
    DateTimeOffset IngestedAt)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}

/// <summary>
/// An ingested image was decoded, validated and stored in the form the models read. The ingestion service records it
/// on the image; the inference service sends it to the running jobs of its collection.
/// </summary>
/// <param name="CollectionId">The collection the image belongs to.</param>
/// <param name="ImageId">The image from <see cref="ImageIngested.ImageId"/>.</param>
/// <param name="Width">Width of the decoded original in pixels.</param>
/// <param name="Height">Height of the decoded original in pixels.</param>
/// <param name="Format">The decoded format (for example <c>jpeg</c>, <c>png</c>).</param>
/// <param name="PreprocessedObjectKey">Where the preprocessed image is stored.</param>
[PublishedBy(Services.Preprocessing)]
public sealed record ImagePreprocessed(
    Guid CollectionId,
    Guid ImageId,
    int Width,
    int Height,
    string Format,
    string PreprocessedObjectKey)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }

    /// <summary>The file name the image was uploaded under (from <see cref="ImageIngested"/>); null in messages of older senders.</summary>
    public string? FileName { get; init; }

    /// <summary>When the image was ingested (from <see cref="ImageIngested"/>); null in messages of older senders.</summary>
    public DateTimeOffset? IngestedAt { get; init; }
}

/// <summary>
/// An ingested image cannot be used (undecodable, too large, unsupported format). The ingestion service records the
/// reason on the image; the inference service counts it as failed in the running jobs of its collection.
/// </summary>
/// <param name="CollectionId">The collection the image belongs to.</param>
/// <param name="ImageId">The image from <see cref="ImageIngested.ImageId"/>.</param>
/// <param name="Reason">A one-line reason a person can act on.</param>
[PublishedBy(Services.Preprocessing)]
public sealed record ImageRejected(Guid CollectionId, Guid ImageId, string Reason)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }

    /// <summary>The file name the image was uploaded under (from <see cref="ImageIngested"/>); null in messages of older senders.</summary>
    public string? FileName { get; init; }

    /// <summary>When the image was ingested (from <see cref="ImageIngested"/>); null in messages of older senders.</summary>
    public DateTimeOffset? IngestedAt { get; init; }
}
