using System.Collections.Concurrent;
using System.Text.Json;

namespace VqaPipeline.Messaging;

/// <summary>Whether an event log entry is a message this service sent or one it received.</summary>
public enum MessageDirection
{
    /// <summary>Sent by this service; the outbox dispatcher publishes it (see <see cref="EventLogEntry.DispatchedAt"/>).</summary>
    Published,

    /// <summary>Received and handled by one of this service's consumers.</summary>
    Consumed,
}

/// <summary>
/// One message as a service published or consumed it, kept for audit and replay in that service's own schema. The
/// published entries are also the transactional outbox: a service adds one with
/// <see cref="MessagingDbContext.AddOutgoing(object, string?, string?)"/> in the same commit as its business rows, and the outbox
/// dispatcher publishes it afterwards. Consumed entries are written by the inbox filter, never by hand.
/// </summary>
public sealed class EventLogEntry
{
    /// <summary>The longest <see cref="LastError"/> kept, in characters.</summary>
    public const int LastErrorLength = 2000;

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

    /// <summary>
    /// The W3C <c>traceparent</c> of the work that sent (or received) the message, so that one trace follows an image
    /// from service to service through the outbox.
    /// </summary>
    public string? TraceParent { get; set; }

    /// <summary>
    /// How many times the outbox failed to publish this entry for a reason of its own (a body that no longer reads as
    /// its type, a destination the bus refuses); a broker that is down counts against no entry.
    /// </summary>
    public int PublishAttempts { get; set; }

    /// <summary>
    /// Why the latest of <see cref="PublishAttempts"/> failed, or, for a consumed entry, why its consumer parked it;
    /// <c>null</c> while nothing failed.
    /// </summary>
    public string? LastError { get; set; }

    /// <summary>
    /// When the outbox gave up on this published entry after <see cref="Outbox.OutboxOptions.MaxAttempts"/> failed
    /// attempts, the dispatcher skipping it so the entries after it go out; or when a consumer parked this consumed
    /// entry, handling the rest of its batch without it (<see cref="MessagingDbContext.ParkConsumed"/>). The reason is
    /// <see cref="LastError"/>; <c>null</c> for every entry sent, waiting or handled.
    /// </summary>
    public DateTimeOffset? ParkedAt { get; set; }

    /// <summary>An entry for <paramref name="message"/>, serialised with System.Text.Json's web defaults.</summary>
    public static EventLogEntry Of(Guid messageId, object message, DateTimeOffset occurredAt, MessageDirection direction)
    {
        var type = message.GetType();
        var (collectionId, imageId, jobId) = MessageSubjects.Of(message);
        return new EventLogEntry
        {
            MessageId = messageId,
            MessageType = type.Name,
            Body = JsonSerializer.Serialize(message, type, JsonSerializerOptions.Web),
            CollectionId = collectionId,
            ImageId = imageId,
            JobId = jobId,
            OccurredAt = occurredAt,
            Direction = direction,
            TraceParent = TraceContext.Current,
        };
    }
}

/// <summary>A message a consumer (named by its queue) has already handled.</summary>
public sealed class InboxMessage
{
    /// <summary>The consumer's name: the queue it consumes from.</summary>
    public required string Consumer { get; set; }

    /// <summary>The bus message id.</summary>
    public Guid MessageId { get; set; }

    /// <summary>When the consumer first handled it.</summary>
    public DateTimeOffset ProcessedAt { get; set; }
}

/// <summary>
/// The collection, image and job a message is about, read from its <c>CollectionId</c>, <c>ImageId</c> and
/// <c>JobId</c> properties (the contract's names), so the event log can be searched and replayed by them.
/// </summary>
internal static class MessageSubjects
{
    private static readonly ConcurrentDictionary<Type, Func<object, (Guid?, Guid?, Guid?)>> Readers = new();

    public static (Guid? CollectionId, Guid? ImageId, Guid? JobId) Of(object message) =>
        Readers.GetOrAdd(message.GetType(), type =>
        {
            var collection = type.GetProperty("CollectionId");
            var image = type.GetProperty("ImageId");
            var job = type.GetProperty("JobId");
            Guid? Read(System.Reflection.PropertyInfo? property, object value) =>
                property?.GetValue(value) is Guid id && id != Guid.Empty ? id : null;
            return value => (Read(collection, value), Read(image, value), Read(job, value));
        })(message);
}
