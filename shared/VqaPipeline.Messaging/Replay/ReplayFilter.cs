using System.Globalization;

namespace VqaPipeline.Messaging.Replay;

/// <summary>Which logged messages to replay: one type, optionally a time range, a collection and a job.</summary>
/// <param name="MessageType">The message's type name, one of <see cref="ReplayFilter.MessageTypes"/>.</param>
/// <param name="From">Messages that occurred at or after this time.</param>
/// <param name="To">Messages that occurred before this time.</param>
/// <param name="CollectionId">Messages about this collection.</param>
/// <param name="JobId">Messages about this question job.</param>
public sealed record ReplayFilter(
    string MessageType, DateTimeOffset? From = null, DateTimeOffset? To = null, Guid? CollectionId = null, Guid? JobId = null)
{
    /// <summary>Names of the message types that can be replayed (every message of the contract).</summary>
    public static IReadOnlyList<string> MessageTypes { get; } = MessageCatalog.All.Select(type => type.Name).ToList();

    /// <summary>The CLR type of <see cref="MessageType"/>.</summary>
    public Type ClrType => MessageCatalog.Find(MessageType)!.ClrType;

    /// <summary>The service that published <see cref="MessageType"/>: its event log is the one replayed.</summary>
    public string Publisher => MessageCatalog.Find(MessageType)!.Publisher;

    /// <summary>
    /// A filter from user input (a command line, a request body), or the one-line reason it is not valid. Times are
    /// ISO 8601 (<c>2026-11-27T09:00:00Z</c>; without an offset, UTC); ids are GUIDs.
    /// </summary>
    public static (ReplayFilter? Filter, string? Error) Parse(
        string? messageType, string? from = null, string? to = null, string? collectionId = null, string? jobId = null)
    {
        if (string.IsNullOrWhiteSpace(messageType))
            return (null, $"give the message type to replay, one of {string.Join(", ", MessageTypes)}");
        if (MessageCatalog.Find(messageType) is null)
            return (null, $"unknown message type '{messageType}': one of {string.Join(", ", MessageTypes)}");
        if (!TryParseTime(from, "from", out var start, out var error) || !TryParseTime(to, "to", out var end, out error)
            || !TryParseId(collectionId, "collection", out var collection, out error) || !TryParseId(jobId, "job", out var job, out error))
            return (null, error);
        if (start is not null && end is not null && end < start)
            return (null, $"the range ends ({end:O}) before it starts ({start:O})");
        return (new ReplayFilter(messageType, start, end, collection, job), null);
    }

    private static bool TryParseTime(string? text, string name, out DateTimeOffset? time, out string? error)
    {
        (time, error) = (null, null);
        if (string.IsNullOrWhiteSpace(text))
            return true;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            time = parsed;
            return true;
        }
        error = $"{name} '{text}' is not a time: give ISO 8601, like 2026-11-27T09:00:00Z";
        return false;
    }

    private static bool TryParseId(string? text, string name, out Guid? id, out string? error)
    {
        (id, error) = (null, null);
        if (string.IsNullOrWhiteSpace(text))
            return true;
        if (Guid.TryParse(text, out var parsed))
        {
            id = parsed;
            return true;
        }
        error = $"{name} '{text}' is not an id (a GUID)";
        return false;
    }
}
