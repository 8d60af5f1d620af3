using System.Text.Json;

namespace VqaPipeline.Data;

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

/// <summary>One image of a collection. The same bytes (by SHA-256) appear at most once per collection.</summary>
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

/// <summary>Whether an event log entry is a message this system sent or one it received.</summary>
public enum MessageDirection
{
    /// <summary>Sent by a service; the outbox dispatcher publishes it (see <see cref="EventLogEntry.DispatchedAt"/>).</summary>
    Published,

    /// <summary>Received and handled by a consumer.</summary>
    Consumed,
}

/// <summary>
/// One message as it was published or consumed, kept for audit and replay. The published entries are also the
/// transactional outbox: a service adds one with <see cref="VqaDbContext.AddOutgoing{TMessage}"/> in the same commit
/// as its business rows, and the outbox dispatcher publishes it afterwards.
/// </summary>
public sealed class EventLogEntry
{
    /// <summary>The entry's id, in insertion order.</summary>
    public long Id { get; set; }

    /// <summary>The bus message id.</summary>
    public Guid MessageId { get; set; }

    /// <summary>The message type's name (for example <c>ImageIngested</c>).</summary>
    public required string MessageType { get; set; }

    /// <summary>The message as JSON (stored as <c>jsonb</c>, so key order and spacing are PostgreSQL's).</summary>
    public required string Body { get; set; }

    /// <summary>The collection the message is about, if any.</summary>
    public Guid? CollectionId { get; set; }

    /// <summary>The image the message is about, if any.</summary>
    public Guid? ImageId { get; set; }

    /// <summary>The question job the message is about, if any.</summary>
    public Guid? JobId { get; set; }

    /// <summary>When the message was sent.</summary>
    public DateTimeOffset OccurredAt { get; set; }

    /// <summary>Sent or received.</summary>
    public MessageDirection Direction { get; set; }

    /// <summary>
    /// When a published message went to the broker; <c>null</c> while it waits in the outbox. Always <c>null</c> for
    /// consumed messages.
    /// </summary>
    public DateTimeOffset? DispatchedAt { get; set; }

    /// <summary>
    /// For a command: the queue the outbox sends it to. <c>null</c> for events, which are published to every
    /// subscriber.
    /// </summary>
    public string? Destination { get; set; }

    /// <summary>A consumed-message entry for <paramref name="message"/>, serialised with System.Text.Json's web defaults.</summary>
    public static EventLogEntry For<TMessage>(
        Guid messageId,
        TMessage message,
        DateTimeOffset occurredAt,
        Guid? collectionId = null,
        Guid? imageId = null,
        Guid? jobId = null) where TMessage : notnull =>
        new()
        {
            MessageId = messageId,
            MessageType = typeof(TMessage).Name,
            Body = JsonSerializer.Serialize(message, JsonSerializerOptions.Web),
            CollectionId = collectionId,
            ImageId = imageId,
            JobId = jobId,
            OccurredAt = occurredAt,
            Direction = MessageDirection.Consumed,
        };
}

/// <summary>A message a consumer has already handled; see <see cref="InboxExtensions"/>.</summary>
public sealed class InboxMessage
{
    /// <summary>The consumer's name.</summary>
    public required string Consumer { get; set; }

    /// <summary>The bus message id.</summary>
    public Guid MessageId { get; set; }

    /// <summary>When the consumer first handled it.</summary>
    public DateTimeOffset ProcessedAt { get; set; }
}
