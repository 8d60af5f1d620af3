using Microsoft.EntityFrameworkCore;

namespace VqaPipeline.Data;

/// <summary>Idempotent consumers: remember which messages a consumer has handled.</summary>
public static class InboxExtensions
{
    /// <summary>
    /// Records that <paramref name="consumer"/> handled <paramref name="messageId"/>. Returns <c>false</c> when it
    /// already had, so a redelivered message can be skipped. Runs in the context's current transaction, if any, so a
    /// consumer can record the message and its effects atomically.
    /// </summary>
    public static async Task<bool> TryMarkProcessedAsync(
        this VqaDbContext context, string consumer, Guid messageId, CancellationToken cancellationToken = default)
    {
        var inserted = await context.Database.ExecuteSqlInterpolatedAsync(
            $"""
             INSERT INTO inbox_messages (consumer, message_id, processed_at)
             VALUES ({consumer}, {messageId}, now())
             ON CONFLICT (consumer, message_id) DO NOTHING
             """,
            cancellationToken);
        return inserted == 1;
    }
}
