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

    /// <summary>Publishes one batch; returns how many rows it sent.</summary>
    private async Task<int> DispatchBatchAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var direction = nameof(MessageDirection.Published).ToLowerInvariant();
        // Types this process cannot map stay pending for one that can, without holding up the rest.
        var batch = await db.EventLog
            .FromSql($"""
                      SELECT * FROM event_log
                      WHERE direction = {direction} AND dispatched_at IS NULL AND message_type = ANY({_knownTypes})
                      ORDER BY id
                      LIMIT {_options.BatchSize}
                      FOR UPDATE SKIP LOCKED
                      """)
            .ToListAsync(cancellationToken);
        if (batch.Count == 0)
            return 0;

        var sent = 0;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_options.PublishTimeout);
            foreach (var entry in batch)
            {
                await PublishAsync(entry, deadline.Token);
                entry.DispatchedAt = DateTimeOffset.UtcNow;
                sent++;
            }
        }
        finally
        {
            // What the broker took is marked even when a later publish failed, so it is not sent twice.
            if (sent > 0)
            {
                await db.SaveChangesAsync(CancellationToken.None);
                await transaction.CommitAsync(CancellationToken.None);
                logger.LogDebug("Outbox dispatched {Count} messages", sent);
            }
        }
        return sent;
    }

    private async Task PublishAsync(EventLogEntry entry, CancellationToken cancellationToken)
    {
        var type = MessageCatalog.Find(entry.MessageType)!.ClrType;
        var message = JsonSerializer.Deserialize(entry.Body, type, JsonSerializerOptions.Web)
            ?? throw new InvalidOperationException($"event log entry {entry.Id} has an empty {entry.MessageType} body");
        var correlationId = entry.JobId ?? entry.ImageId ?? entry.CollectionId;
        using var activity = TraceContext.StartChild($"publish {entry.MessageType}", entry.TraceParent);
        var traceParent = TraceContext.Current ?? entry.TraceParent;
        if (entry.Destination is { } queue)
        {
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{queue}"));
            await endpoint.Send(message, type, context => Stamp(context, entry.MessageId, correlationId, traceParent), cancellationToken);
            return;
        }
        await bus.Publish(message, type, context => Stamp(context, entry.MessageId, correlationId, traceParent), cancellationToken);
    }

    private static void Stamp(SendContext context, Guid messageId, Guid? correlationId, string? traceParent)
    {
        context.MessageId = messageId;
        context.CorrelationId = correlationId;
        if (traceParent is not null)
            context.Headers.Set(TraceContext.Header, traceParent);
    }

    private TimeSpan Backoff(int failures)
    {
        var exponential = _options.MinRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16));
        return TimeSpan.FromMilliseconds(Math.Min(exponential, _options.MaxRetryDelay.TotalMilliseconds));
    }
}
