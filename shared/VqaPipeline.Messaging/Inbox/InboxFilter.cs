using System.Diagnostics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VqaPipeline.Messaging.Replay;

namespace VqaPipeline.Messaging.Inbox;

/// <summary>
/// The inbox and the event log of every consumer, in one place: each contract message a consumer receives is handled
/// in one transaction of the service's database that records it in the inbox (consumer = its queue, by message id),
/// logs it as consumed (under the original's id for a replay), runs the consumer and commits. A message the consumer's
/// inbox already holds — a redelivery, a duplicate — is acknowledged without running the consumer, so at-least-once
/// delivery never doubles a result. A batch consumer gets its whole batch, messages seen before included (batch
/// consumers are idempotent by their own keys); each new one is recorded. Messages outside the contract pass through.
/// </summary>
public sealed class InboxFilter<TMessage>(IServiceProvider services, MessagingMetrics metrics, ILogger<InboxFilter<TMessage>> logger)
    : IFilter<ConsumeContext<TMessage>> where TMessage : class
{
    private static readonly Func<TMessage, IReadOnlyList<(ConsumeContext Context, object Message)>>? BatchItems = BatchReader.For<TMessage>();
    private static readonly string MessageName = (BatchReader.ElementType<TMessage>() ?? typeof(TMessage)).Name;
    private static readonly bool IsContract = MessageCatalog.Contains(BatchReader.ElementType<TMessage>() ?? typeof(TMessage));

    public async Task Send(ConsumeContext<TMessage> context, IPipe<ConsumeContext<TMessage>> next)
    {
        if (!IsContract)
        {
            await next.Send(context);
            return;
        }
        var items = BatchItems?.Invoke(context.Message) ?? [(context, context.Message)];
        var consumer = QueueOf(context);
        // A batch's work continues its first message's trace.
        using var activity = TraceContext.Start($"consume {MessageName}", ActivityKind.Consumer,
            items[0].Context.Headers.Get<string>(TraceContext.Header));
        activity?.SetTag("messaging.destination.name", consumer);
        activity?.SetTag("messaging.batch.message_count", items.Count);
        try
        {
            await HandleOnceAsync(context, next, items, consumer);
        }
        catch (Exception error) when (error is not OperationCanceledException || !context.CancellationToken.IsCancellationRequested)
        {
            metrics.ConsumeFailed(consumer, MessageName, error);
            activity?.AddException(error);
            activity?.SetStatus(ActivityStatusCode.Error, error.Message);
            throw;
        }
    }

    private async Task HandleOnceAsync(ConsumeContext<TMessage> context, IPipe<ConsumeContext<TMessage>> next,
        IReadOnlyList<(ConsumeContext Context, object Message)> items, string consumer)
    {
        // Resolved only for contract messages: a service's other consumers (replay requests) need no database.
        var db = services.GetRequiredService<MessagingDbContext>();
        var transaction = services.GetRequiredService<InboxTransaction>();
        var cancellationToken = context.CancellationToken;

        db.ChangeTracker.Clear(); // a retry reuses the scope's context
        transaction.Reset();
        await using (var dbTransaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            var fresh = 0;
            foreach (var (item, message) in items)
            {
                if (BatchItems is not null)
                    MarkReceived(item, consumer);
                var messageId = item.MessageId
                    ?? throw new InvalidOperationException($"a {message.GetType().Name} without a MessageId cannot be handled exactly once");
                if (!await db.TryMarkProcessedAsync(consumer, messageId, cancellationToken))
                    continue;
                var sent = item.SentTime is { } time ? new DateTimeOffset(time, TimeSpan.Zero) : DateTimeOffset.UtcNow;
                db.EventLog.Add(EventLogEntry.Of(item.LoggedMessageId(), message, sent, MessageDirection.Consumed));
                fresh++;
            }
            if (fresh == 0)
            {
                logger.LogInformation("{MessageType} {MessageId} was already handled by {Consumer}; skipped",
                    typeof(TMessage).Name, context.MessageId, consumer);
                return;
            }

            await next.Send(context);
            await db.SaveChangesAsync(cancellationToken);
            await dbTransaction.CommitAsync(cancellationToken);
        }
        await transaction.CommittedAsync(cancellationToken);
    }

    /// <summary>
    /// A span in the trace of one message of a batch, where it reached this consumer: the batch's work continues only
    /// its first message's trace, and this keeps every other message's trace going to the service that handled it.
    /// </summary>
    private static void MarkReceived(ConsumeContext item, string consumer)
    {
        var batch = Activity.Current;
        using (var received = TraceContext.Start($"receive {MessageName}", ActivityKind.Consumer, item.Headers.Get<string>(TraceContext.Header)))
        {
            received?.SetTag("messaging.destination.name", consumer);
            received?.SetTag("messaging.message.id", item.MessageId?.ToString());
        }
        Activity.Current = batch; // a span with a remote parent leaves none current when it stops
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("inbox");

    /// <summary>The queue the message came from: each consumer has its own, so it names the consumer.</summary>
    internal static string QueueOf(ConsumeContext context) =>
        context.ReceiveContext.InputAddress.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()
        ?? context.ReceiveContext.InputAddress.ToString();
}

/// <summary>The messages of a <c>Batch&lt;T&gt;</c>, each with its own consume context (message id, sent time, headers).</summary>
internal static class BatchReader
{
    public static Type? ElementType<TMessage>() =>
        typeof(TMessage).IsGenericType && typeof(TMessage).GetGenericTypeDefinition() == typeof(Batch<>)
            ? typeof(TMessage).GetGenericArguments()[0]
            : null;

    public static Func<TMessage, IReadOnlyList<(ConsumeContext, object)>>? For<TMessage>()
    {
        if (ElementType<TMessage>() is not { } element)
            return null;
        var read = typeof(BatchReader).GetMethod(nameof(Items), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(element);
        return batch => (IReadOnlyList<(ConsumeContext, object)>)read.Invoke(null, [batch])!;
    }

    private static IReadOnlyList<(ConsumeContext, object)> Items<T>(Batch<T> batch) where T : class =>
        batch.Select(item => ((ConsumeContext)item, (object)item.Message)).ToList();
}
