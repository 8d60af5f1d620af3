using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Messaging.Replay;
using VqaPipeline.Data;

namespace VqaPipeline.Messaging;

/// <summary>
/// A service's database with its messaging tables: the event log (which is also its outbox) and the inbox of its
/// consumers, in the service's own schema, so that a message and the rows it announces commit together.
/// </summary>
public abstract class MessagingDbContext(DbContextOptions options) : ServiceDbContext(options)
{
    /// <summary>Messages this service published or consumed.</summary>
    public DbSet<EventLogEntry> EventLog => Set<EventLogEntry>();

    /// <summary>Messages this service's consumers have handled.</summary>
    public DbSet<InboxMessage> InboxMessages => Set<InboxMessage>();

    /// <summary>
    /// Adds <paramref name="message"/> to the outbox: a published event log entry, not yet dispatched, that commits
    /// with this context's next <c>SaveChanges</c> (and its transaction, if one is open). The outbox dispatcher then
    /// publishes it with the returned message id, so a message is sent if and only if the changes it announces commit.
    /// The message's runtime type names it, and must be one of <see cref="MessageCatalog"/>. With
    /// <paramref name="destinationQueue"/> the message is a command, sent to that queue alone instead of published.
    /// It continues the trace <paramref name="traceParent"/> (a W3C <c>traceparent</c>), by default the current one's.
    /// </summary>
    /// <returns>The bus message id the message will be published with.</returns>
    public Guid AddOutgoing(object message, string? destinationQueue = null, string? traceParent = null)
    {
        if (MessageCatalog.Find(message.GetType().Name) is null)
            throw new ArgumentException($"{message.GetType().Name} is not a message of the contract", nameof(message));
        var entry = EventLogEntry.Of(Guid.CreateVersion7(), message, DateTimeOffset.UtcNow, MessageDirection.Published);
        entry.Destination = destinationQueue;
        entry.TraceParent = traceParent ?? entry.TraceParent;
        EventLog.Add(entry);
        return entry.MessageId;
    }

    /// <summary>
    /// Parks <paramref name="message"/>, one message of a batch its consumer cannot handle, so the consumer can handle
    /// the rest: its consumed event log entry (added by the inbox filter in this transaction) is marked parked with
    /// <paramref name="reason"/> and commits with the rest of the batch. <c>false</c> when this transaction logged no
    /// entry for it (a redelivery of a message handled before), which leaves nothing to mark.
    /// </summary>
    public bool ParkConsumed(ConsumeContext message, string reason)
    {
        var messageId = message.LoggedMessageId();
        var entry = ChangeTracker.Entries<EventLogEntry>().Select(tracked => tracked.Entity)
            .FirstOrDefault(e => e.Direction == MessageDirection.Consumed && e.MessageId == messageId);
        if (entry is null)
            return false;
        entry.ParkedAt = DateTimeOffset.UtcNow;
        entry.LastError = reason.Length <= EventLogEntry.LastErrorLength ? reason : reason[..EventLogEntry.LastErrorLength];
        return true;
    }

    /// <summary>The service's own tables; the messaging tables are added beside them.</summary>
    protected abstract void ConfigureTables(ModelBuilder modelBuilder);

    /// <inheritdoc />
    protected sealed override void ConfigureModel(ModelBuilder modelBuilder)
    {
        ConfigureTables(modelBuilder);
        modelBuilder.Entity<EventLogEntry>(entry =>
        {
            entry.ToTable("event_log");
            entry.Property(e => e.MessageType).HasMaxLength(255);
            entry.Property(e => e.Body).HasColumnType("jsonb");
            entry.Property(e => e.Destination).HasMaxLength(255);
            entry.Property(e => e.TraceParent).HasMaxLength(64);
            entry.Property(e => e.LastError).HasMaxLength(EventLogEntry.LastErrorLength);
            entry.Property(e => e.Direction).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<MessageDirection>());
            entry.HasIndex(e => new { e.MessageType, e.OccurredAt });
            entry.HasIndex(e => e.MessageId);
            // The outbox: what the dispatcher scans, kept small by the filter however long the log grows.
            entry.HasIndex(e => e.Id)
                .HasDatabaseName("ix_event_log_outbox")
                .HasFilter("direction = 'published' AND dispatched_at IS NULL AND parked_at IS NULL");
        });
        modelBuilder.Entity<InboxMessage>(inbox =>
        {
            inbox.ToTable("inbox_messages");
            inbox.Property(m => m.Consumer).HasMaxLength(255);
            inbox.HasKey(m => new { m.Consumer, m.MessageId });
        });
    }

    /// <summary>
    /// Records that <paramref name="consumer"/> handled <paramref name="messageId"/>; <c>false</c> when it already
    /// had. Runs in the context's current transaction, so the mark commits (or rolls back) with the message's effects.
    /// Only the inbox filter calls it.
    /// </summary>
    internal async Task<bool> TryMarkProcessedAsync(string consumer, Guid messageId, CancellationToken cancellationToken)
    {
        var inserted = await Database.ExecuteSqlInterpolatedAsync(
            $"""
             INSERT INTO inbox_messages (consumer, message_id, processed_at)
             VALUES ({consumer}, {messageId}, clock_timestamp())
             ON CONFLICT (consumer, message_id) DO NOTHING
             """,
            cancellationToken);
        return inserted == 1;
    }
}
