using MassTransit;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Messaging;

namespace VqaPipeline.Indexing;

/// <summary>
/// Indexes the answers of <see cref="AnswersProduced"/> messages, a batch per transaction: the upserts and one event
/// log entry per message commit together. Idempotent by the index's natural keys, so a redelivered, duplicated or
/// replayed message leaves the index as it was.
/// </summary>
public sealed class AnswersProducedConsumer(VqaDbContext db, ILogger<AnswersProducedConsumer> logger)
    : IConsumer<Batch<AnswersProduced>>
{
    public async Task Consume(ConsumeContext<Batch<AnswersProduced>> context)
    {
        var cancellationToken = context.CancellationToken;
        var messages = context.Message.Select(consumed => consumed.Message).ToList();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await AnswerIndex.UpsertAsync(db, messages, cancellationToken);
        foreach (var consumed in context.Message)
        {
            var message = consumed.Message;
            var occurredAt = consumed.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : DateTimeOffset.UtcNow;
            db.EventLog.Add(EventLogEntry.For(consumed.LoggedMessageId(), message, occurredAt,
                message.CollectionId, message.ImageId, message.JobId));
        }
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        logger.LogInformation("Indexed the answers of {Count} AnswersProduced messages", messages.Count);
    }
}

/// <summary>The consumer's queue and batch size; the broker prefetches a whole batch.</summary>
public sealed class AnswersProducedConsumerDefinition : ConsumerDefinition<AnswersProducedConsumer>
{
    private readonly IndexingOptions _options;

    public AnswersProducedConsumerDefinition(IOptions<IndexingOptions> options)
    {
        _options = options.Value;
        EndpointName = _options.QueueName;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<AnswersProducedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = Math.Max(_options.BatchSize, context.GetRequiredService<IOptions<BrokerOptions>>().Value.PrefetchCount);
        consumerConfigurator.Options<BatchOptions>(batch => batch
            .SetMessageLimit(_options.BatchSize)
            .SetTimeLimit(_options.BatchWait)
            .SetConcurrencyLimit(1));
    }
}
