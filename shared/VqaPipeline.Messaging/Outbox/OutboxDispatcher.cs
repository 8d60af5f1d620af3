using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VqaPipeline.Messaging.Outbox;

/// <summary>
/// Publishes the outbox: event log entries that are published but not yet dispatched, oldest first. Each batch is
/// locked with <c>FOR UPDATE SKIP LOCKED</c>, so dispatchers in several processes share the rows and none is sent by
/// two at once; rows are marked dispatched in the same transaction after the broker took them. A process that dies
/// after publishing and before that commit leaves its rows pending, and they go out again with the same message id,
/// which the consumers' inboxes recognise. A broker or database that is down delays dispatch, never stops the host.
/// </summary>
public sealed class OutboxDispatcher<TContext>(
    IServiceScopeFactory scopes,
    IBus bus,
    OutboxSignal signal,
    MessagingMetrics metrics,
    IOptions<OutboxOptions> options,
    ILogger<OutboxDispatcher<TContext>> logger) : BackgroundService where TContext : MessagingDbContext
{
    private readonly OutboxOptions _options = options.Value;
    private readonly string[] _knownTypes = [.. MessageCatalog.All.Select(type => type.Name)];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // host start must not wait for the first batch
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await DispatchBatchAsync(stoppingToken) == _options.BatchSize)
                {
                }
                if (failures > 0)
                    logger.LogInformation("Outbox dispatch works again after {Failures} failed attempts", failures);
                failures = 0;
                await signal.WaitAsync(_options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                failures++;
                var delay = Backoff(failures);
                var reason = error is OperationCanceledException
                    ? $"the broker took no batch within {_options.PublishTimeout.TotalSeconds:0.#} s"
                    : error.Message;
                logger.LogWarning("Outbox dispatch failed (attempt {Failures}), retrying in {DelayMs:0} ms: {Reason}",
                    failures, delay.TotalMilliseconds, reason);
                try
                {
                    await Task.Delay(delay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Publishes one batch; returns how many rows it sent, or -1 when a row failed for a reason of its own (so the
    /// caller waits a poll interval before that row's next attempt rather than retrying it at once).
    /// </summary>
    private async Task<int> DispatchBatchAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var direction = nameof(MessageDirection.Published).ToLowerInvariant();
        // Types this process cannot map stay pending for one that can, without holding up the rest; parked rows wait
        // for an operator.
        var batch = await db.EventLog
            .FromSql($"""
                      SELECT * FROM event_log
                      WHERE direction = {direction} AND dispatched_at IS NULL AND parked_at IS NULL
                        AND message_type = ANY({_knownTypes})
                      ORDER BY id
                      LIMIT {_options.BatchSize}
                      FOR UPDATE SKIP LOCKED
                      """)
            .ToListAsync(cancellationToken);
        if (batch.Count == 0)
            return 0;

        var sent = 0;
        var failed = 0;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_options.PublishTimeout);
            foreach (var entry in batch)
            {
                try
                {
                    await PublishAsync(entry, deadline.Token);
                }
                catch (Exception error) when (IsTheEntrysFault(error))
                {
                    RecordFailure(entry, error);
                    failed++;
                    continue;
                }
                entry.DispatchedAt = DateTimeOffset.UtcNow;
                sent++;
            }
        }
        finally
        {
            // What the broker took is marked even when a later publish failed, so it is not sent twice; a row's own
            // failure is counted even when the broker then went down.
            if (sent > 0 || failed > 0)
            {
                await db.SaveChangesAsync(CancellationToken.None);
                await transaction.CommitAsync(CancellationToken.None);
                logger.LogDebug("Outbox dispatched {Count} messages", sent);
            }
        }
        return failed > 0 ? -1 : sent;
    }

    /// <summary>
    /// Whether <paramref name="error"/> is the entry's own (it would fail again however often it is tried) rather than
    /// the broker's: a message that no longer reads as its type or a destination the bus refuses fails before the
    /// broker is reached (<see cref="UnpublishableEntryException"/>); a publish the broker refused counts only while
    /// the bus is otherwise healthy. A timeout is never the entry's fault.
    /// </summary>
    private bool IsTheEntrysFault(Exception error) =>
        error is UnpublishableEntryException
        || (error is not OperationCanceledException && BusIsHealthy());

    private bool BusIsHealthy() => bus is IBusControl control && control.CheckHealth().Status == BusHealthStatus.Healthy;

    private void RecordFailure(EventLogEntry entry, Exception error)
    {
        var reason = error.Message;
        entry.PublishAttempts++;
        entry.LastError = reason.Length <= EventLogEntry.LastErrorLength ? reason : reason[..EventLogEntry.LastErrorLength];
        if (entry.PublishAttempts < _options.MaxAttempts)
        {
            logger.LogWarning("Outbox could not publish {MessageType} {MessageId} (event log entry {EntryId}, attempt {Attempt} of {MaxAttempts}): {Reason}",
                entry.MessageType, entry.MessageId, entry.Id, entry.PublishAttempts, _options.MaxAttempts, reason);
            return;
        }
        entry.ParkedAt = DateTimeOffset.UtcNow;
        metrics.OutboxParked(entry.MessageType);
        logger.LogError("Outbox parked {MessageType} {MessageId} (event log entry {EntryId}) after {Attempts} failed attempts; the messages after it go on: {Reason}",
            entry.MessageType, entry.MessageId, entry.Id, entry.PublishAttempts, reason);
    }

    private async Task PublishAsync(EventLogEntry entry, CancellationToken cancellationToken)
    {
        var (type, message, endpoint) = await PrepareAsync(entry);
        var correlationId = entry.JobId ?? entry.ImageId ?? entry.CollectionId;
        using var activity = TraceContext.Start($"publish {entry.MessageType}", ActivityKind.Producer, entry.TraceParent);
        activity?.SetTag("messaging.message.id", entry.MessageId.ToString());
        activity?.SetTag("messaging.destination.name", entry.Destination ?? entry.MessageType);
        var traceParent = TraceContext.Current ?? entry.TraceParent;
        if (endpoint is not null)
        {
            await endpoint.Send(message, type, context => Stamp(context, entry.MessageId, correlationId, traceParent), cancellationToken);
            return;
        }
        await bus.Publish(message, type, context => Stamp(context, entry.MessageId, correlationId, traceParent), cancellationToken);
    }

    /// <summary>
    /// The entry's message and, for a command, its destination; a body that does not deserialise, or a destination the
    /// bus refuses while it is healthy, is the entry's own fault.
    /// </summary>
    private async Task<(Type Type, object Message, ISendEndpoint? Endpoint)> PrepareAsync(EventLogEntry entry)
    {
        var type = MessageCatalog.Find(entry.MessageType)!.ClrType;
        object message;
        try
        {
            message = JsonSerializer.Deserialize(entry.Body, type, JsonSerializerOptions.Web)
                ?? throw new JsonException("the body is null");
        }
        catch (Exception error) when (error is JsonException or NotSupportedException or ArgumentException)
        {
            throw new UnpublishableEntryException($"the body does not read as {entry.MessageType}: {error.Message}", error);
        }
        if (entry.Destination is not { } queue)
            return (type, message, null);
        try
        {
            return (type, message, await bus.GetSendEndpoint(new Uri($"queue:{queue}")));
        }
        catch (Exception error) when (error is not OperationCanceledException && BusIsHealthy())
        {
            throw new UnpublishableEntryException($"the destination queue '{queue}' is refused: {error.Message}", error);
        }
    }

    private static void Stamp(SendContext context, Guid messageId, Guid? correlationId, string? traceParent)
    {
        context.MessageId = messageId;
        context.CorrelationId = correlationId;
        if (traceParent is null)
            return;
        context.Headers.Set(TraceContext.Header, traceParent);
        // MassTransit's receive span takes its parent from its own header: the same trace. Its send span, when recorded,
        // puts its own id there (a child of this publish span).
        if (!context.Headers.TryGetHeader(TraceContext.MassTransitHeader, out _))
            context.Headers.Set(TraceContext.MassTransitHeader, traceParent);
    }

    private TimeSpan Backoff(int failures)
    {
        var exponential = _options.MinRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16));
        return TimeSpan.FromMilliseconds(Math.Min(exponential, _options.MaxRetryDelay.TotalMilliseconds));
    }
}

/// <summary>An outbox entry that cannot become a message to send, whatever the broker's state.</summary>
internal sealed class UnpublishableEntryException(string reason, Exception cause) : Exception(reason, cause);
