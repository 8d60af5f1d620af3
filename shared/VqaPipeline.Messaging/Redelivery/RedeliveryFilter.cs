using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VqaPipeline.Messaging.Inbox;
using VqaPipeline.Messaging.Replay;

namespace VqaPipeline.Messaging.Redelivery;

/// <summary>
/// A consumer's immediate retries (<see cref="DelayedRedeliveryOptions.RetryLimit"/>), and what happens once they are
/// spent. A transient fault
/// (<see cref="TransientFaults"/>: the database, object store or network down for longer than the retries last) sends
/// the message to its queue's delay queue (<see cref="DelayQueues"/>) to come back after the next of
/// <see cref="DelayedRedeliveryOptions.RedeliveryIntervals"/>, counted in its <see cref="DelayQueues.DeliveryHeader"/>
/// header. A message that fails for any other reason, or has had <see cref="DelayedRedeliveryOptions.DeliveryLimit"/>
/// deliveries, is parked: its inbox row (so a copy is never handled) and its consumed event log entry, marked parked
/// with the reason, commit with the service's <see cref="IParkedMessageHandler{TMessage}"/>s, which fail the image,
/// job or run it is about. Only where parking is impossible (a message outside the contract, a host without a
/// database) does the message go to its <c>_error</c> queue as before. A batch's messages are judged one by one.
/// </summary>
public sealed class RedeliveryFilter<TMessage>(
    IServiceProvider services, IOptions<DelayedRedeliveryOptions> options, MessagingMetrics metrics,
    ILogger<RedeliveryFilter<TMessage>> logger) : IFilter<ConsumeContext<TMessage>> where TMessage : class
{
    private static readonly Func<TMessage, IReadOnlyList<(ConsumeContext Context, object Message)>>? BatchItems = BatchReader.For<TMessage>();
    private static readonly bool IsContract = MessageCatalog.Contains(BatchReader.ElementType<TMessage>() ?? typeof(TMessage));

    public async Task Send(ConsumeContext<TMessage> context, IPipe<ConsumeContext<TMessage>> next)
    {
        var failure = await SendWithRetriesAsync(context, next);
        if (failure is { } error)
        {
            var items = BatchItems?.Invoke(context.Message) ?? [(context, context.Message)];
            var transient = TransientFaults.IsTransient(error);
            var canPark = IsContract && services.GetService<MessagingDbContext>() is not null;
            if (!transient && !canPark)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error); // to the _error queue, with the exception in its headers
            foreach (var (item, message) in items)
                await GiveUpOrDelayAsync(item, message, error, transient, canPark, context.CancellationToken);
        }
    }

    /// <summary>The consume with its immediate retries; the last failure, or <c>null</c> once one attempt succeeds.</summary>
    private async Task<Exception?> SendWithRetriesAsync(ConsumeContext<TMessage> context, IPipe<ConsumeContext<TMessage>> next)
    {
        var settings = options.Value;
        for (var retry = 0; ; retry++)
        {
            try
            {
                await next.Send(context);
                return null;
            }
            catch (Exception error) when (!context.CancellationToken.IsCancellationRequested)
            {
                if (retry >= settings.RetryLimit)
                    return error;
                logger.LogWarning("{MessageType} {MessageId} failed ({Reason}); retry {Retry} of {RetryLimit}",
                    typeof(TMessage).Name, context.MessageId, error.Message, retry + 1, settings.RetryLimit);
            }
            await Task.Delay(settings.RetryInterval(retry + 1), context.CancellationToken);
        }
    }

    private async Task GiveUpOrDelayAsync(ConsumeContext item, object message, Exception error, bool transient, bool canPark,
        CancellationToken cancellationToken)
    {
        var queue = InboxFilter<TMessage>.QueueOf(item);
        var delivery = DelayQueues.DeliveryOf(item);
        var limit = Math.Max(1, options.Value.DeliveryLimit);
        if (transient && delivery < limit)
        {
            await DelayAsync(item, message, queue, delivery, error, cancellationToken);
            return;
        }
        var reason = transient
            ? $"gave up after {delivery} deliveries: {error.GetType().Name}: {error.Message}"
            : $"{error.GetType().Name}: {error.Message}";
        if (!canPark)
            throw new InvalidOperationException($"{message.GetType().Name} {item.MessageId} {reason}", error);
        try
        {
            await ParkAsync(item, message, queue, reason, cancellationToken);
        }
        catch (Exception parkError) when (TransientFaults.IsTransient(parkError) && !cancellationToken.IsCancellationRequested)
        {
            // The database that would record the parking is itself away: wait the longest delay and try again.
            logger.LogWarning(parkError, "{MessageType} {MessageId} on {Queue} could not be parked yet; delayed again",
                message.GetType().Name, item.MessageId, queue);
            await DelayAsync(item, message, queue, delivery, error, cancellationToken);
        }
    }

    private async Task DelayAsync(ConsumeContext item, object message, string queue, int delivery, Exception error,
        CancellationToken cancellationToken)
    {
        var delay = options.Value.DelayBefore(delivery + 1);
        await services.GetRequiredService<DelayQueues>().DelayAsync(item, queue, delay, delivery + 1, cancellationToken);
        metrics.Redelivered(queue, message.GetType().Name);
        logger.LogWarning("{MessageType} {MessageId} on {Queue} failed delivery {Delivery} with a transient fault ({Reason}); " +
                          "it comes back in {Delay}", message.GetType().Name, item.MessageId, queue, delivery, error.Message, delay);
    }

    private async Task ParkAsync(ConsumeContext item, object message, string queue, string reason, CancellationToken cancellationToken)
    {
        // A scope of its own: the consumer's context may hold the failed attempt's half-done changes.
        await using var scope = services.GetRequiredService<IServiceScopeFactory>().CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MessagingDbContext>();
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            var messageId = item.MessageId
                ?? throw new InvalidOperationException($"a {message.GetType().Name} without a MessageId cannot be parked");
            if (!await db.TryMarkProcessedAsync(queue, messageId, cancellationToken))
                return; // handled (or parked) by another delivery meanwhile
            var sent = item.SentTime is { } time ? new DateTimeOffset(time, TimeSpan.Zero) : DateTimeOffset.UtcNow;
            var entry = EventLogEntry.Of(item.LoggedMessageId(), message, sent, MessageDirection.Consumed);
            db.EventLog.Add(entry);
            await db.SaveChangesAsync(cancellationToken);
            db.ParkConsumed(item, reason);
            await ParkedMessages.NotifyAsync(scope.ServiceProvider, message, reason, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        metrics.ConsumedParked(message.GetType().Name);
        logger.LogError("{MessageType} {MessageId} on {Queue} parked: {Reason}", message.GetType().Name, item.MessageId, queue, reason);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("redelivery");
}
