using VqaPipeline.Contracts.V1;

namespace VqaPipeline.Messaging;

/// <summary>Which logged messages to replay: one type, optionally a time range, a collection and a job.</summary>
/// <param name="MessageType">The message's type name, one of <see cref="ReplayFilter.MessageTypes"/>.</param>
/// <param name="From">Messages that occurred at or after this time.</param>
/// <param name="To">Messages that occurred before this time.</param>
/// <param name="CollectionId">Messages about this collection.</param>
/// <param name="JobId">Messages about this question job.</param>
public sealed record ReplayFilter(
    string MessageType, DateTimeOffset? From = null, DateTimeOffset? To = null, Guid? CollectionId = null, Guid? JobId = null)
{
    private static readonly IReadOnlyDictionary<string, Type> Types = typeof(ContractVersion).Assembly.GetExportedTypes()
        .Where(type => type.Namespace == typeof(ContractVersion).Namespace && type.IsClass && !type.IsAbstract
                       && type.GetProperty(nameof(ImageIngested.SchemaVersion)) is not null)
        .ToDictionary(type => type.Name, StringComparer.Ordinal);

    /// <summary>Names of the message types that can be replayed (the messages of <c>Contracts.V1</c>).</summary>
    public static IReadOnlyList<string> MessageTypes { get; } = Types.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>The CLR type of <see cref="MessageType"/>.</summary>
    public Type ClrType => Types[MessageType];

    /// <summary>
    /// A filter from user input, or the one-line reason it is not valid: an unknown type, or a range that ends before
    /// it starts.
    /// </summary>
    public static (ReplayFilter? Filter, string? Error) Create(
        string? messageType, DateTimeOffset? from, DateTimeOffset? to, Guid? collectionId, Guid? jobId)
    {
        if (string.IsNullOrWhiteSpace(messageType))
            return (null, $"give the message type to replay, one of {string.Join(", ", MessageTypes)}");
        if (!Types.ContainsKey(messageType))
            return (null, $"unknown message type '{messageType}': one of {string.Join(", ", MessageTypes)}");
        if (from is { } start && to is { } end && end < start)
            return (null, $"the range ends ({end:O}) before it starts ({start:O})");
        return (new ReplayFilter(messageType, from, to, collectionId, jobId), null);
    }
}
