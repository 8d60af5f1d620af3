using MassTransit;

namespace VqaPipeline.Messaging.Replay;

/// <summary>
/// How a replayed message is told from the original: it travels with a new message id (so inboxes keyed by message id
/// handle it again) and a header naming the id of the message it replays.
/// </summary>
public static class ReplayHeaders
{
    /// <summary>The header holding the original message id.</summary>
    public const string ReplayOf = "vqa-replay-of";

    /// <summary>The id of the message <paramref name="context"/> replays, or <c>null</c> for an original message.</summary>
    public static Guid? ReplayedMessageId(this ConsumeContext context) =>
        context.Headers.Get<string>(ReplayOf) is { } value && Guid.TryParse(value, out var original) ? original : null;

    /// <summary>
    /// The id a consumer logs the message under: the original's for a replay, so the event log keeps one message id
    /// per message however often it is replayed, and replaying a range twice replays the same messages.
    /// </summary>
    public static Guid LoggedMessageId(this ConsumeContext context) =>
        context.ReplayedMessageId() ?? context.MessageId
        ?? throw new InvalidOperationException($"a {context.GetType().Name} without a MessageId cannot be logged");
}
