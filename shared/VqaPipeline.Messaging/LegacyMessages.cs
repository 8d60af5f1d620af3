using VqaPipeline.Data;

namespace VqaPipeline.Messaging;

/// <summary>
/// The messages of the old shared event log and inbox (<see cref="LegacyLayout"/>) that belong to one service: the
/// ones it publishes now (its outbox, undispatched rows included, and what it replays), the ones its consumers
/// received, and its consumers' inbox rows under their queue names.
/// </summary>
public static class LegacyMessages
{
    /// <summary>
    /// SQL for a service's first migration. <paramref name="consumedTypes"/> are the types its consumers received in
    /// the old layout; <paramref name="inboxConsumers"/> maps an old inbox consumer name (<c>service.ConsumerClass</c>)
    /// to the queue that names that consumer now.
    /// </summary>
    public static string Import(string service, IReadOnlyList<string> consumedTypes, IReadOnlyDictionary<string, string> inboxConsumers)
    {
        var published = string.Join(", ", MessageCatalog.PublishedBy(service).Select(Quote));
        var consumed = string.Join(", ", consumedTypes.Select(Quote));
        var events = LegacyLayout.Import("event_log",
            $"""
             INSERT INTO {service}.event_log (message_id, message_type, body, collection_id, image_id, job_id, occurred_at,
                                              direction, dispatched_at, destination)
             SELECT message_id, message_type, body, collection_id, image_id, job_id, occurred_at, direction, dispatched_at,
                    destination
             FROM public.event_log
             WHERE (direction = 'published' AND message_type IN ({(published.Length > 0 ? published : "NULL")}))
                OR (direction = 'consumed' AND message_type IN ({(consumed.Length > 0 ? consumed : "NULL")}))
             ORDER BY id
             """);
        if (inboxConsumers.Count == 0)
            return events;
        var cases = string.Join(" ", inboxConsumers.Select(pair => $"WHEN {Quote(pair.Key)} THEN {Quote(pair.Value)}"));
        var inbox = LegacyLayout.Import("inbox_messages",
            $"""
             INSERT INTO {service}.inbox_messages (consumer, message_id, processed_at)
             SELECT CASE consumer {cases} END, message_id, processed_at
             FROM public.inbox_messages
             WHERE consumer IN ({string.Join(", ", inboxConsumers.Keys.Select(Quote))})
             ON CONFLICT DO NOTHING
             """);
        return events + "\n" + inbox;
    }

    /// <summary>
    /// SQL that puts a message of <paramref name="messageType"/> into <paramref name="service"/>'s outbox for every row
    /// of the old table <paramref name="legacyTable"/> that <paramref name="where"/> selects: <paramref name="body"/>
    /// and <paramref name="collectionId"/> are SQL expressions over that row (the message's JSON, its collection).
    /// </summary>
    public static string Publish(string service, string messageType, string legacyTable, string body, string collectionId, string where) =>
        LegacyLayout.Import(legacyTable,
            $"""
             INSERT INTO {service}.event_log (message_id, message_type, body, collection_id, occurred_at, direction)
             SELECT gen_random_uuid(), {Quote(messageType)}, {body}, {collectionId}, now(), 'published'
             FROM public.{legacyTable}
             WHERE {where}
             """);

    private static string Quote(string text) => $"'{text.Replace("'", "''", StringComparison.Ordinal)}'";
}
