using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Indexing.Data;

namespace VqaPipeline.Indexing;

/// <summary>
/// Indexes the answers of <see cref="AnswersProduced"/> messages, a batch per transaction (the inbox filter's).
/// Idempotent by the index's natural keys, so a redelivered, duplicated or replayed message leaves the index as it
/// was.
/// </summary>
public sealed class AnswersProducedConsumer(IndexingDbContext db, ILogger<AnswersProducedConsumer> logger)
    : IConsumer<Batch<AnswersProduced>>
{
    public async Task Consume(ConsumeContext<Batch<AnswersProduced>> context)
    {
        var messages = context.Message.Select(consumed => consumed.Message).ToList();
        await AnswerIndex.UpsertAsync(db, messages, context.CancellationToken);
        logger.LogInformation("Indexed the answers of {Count} AnswersProduced messages", messages.Count);
    }
}

/// <summary>
/// Records that a question job ended, and with how many answered images: a search waiting on the job ranks once that
/// many images are in the index.
/// </summary>
public sealed class QuestionJobEndedConsumer(IndexingDbContext db) : IConsumer<QuestionJobEnded>
{
    public Task Consume(ConsumeContext<QuestionJobEnded> context)
    {
        var m = context.Message;
        return db.Database.ExecuteSqlInterpolatedAsync(
            $"""
             INSERT INTO ended_jobs (job_id, collection_id, status, model_version, answered, failure_reason, ended_at)
             VALUES ({m.JobId}, {m.CollectionId}, {m.Status}, {m.ModelVersion}, {m.Answered}, {m.FailureReason}, {m.EndedAt})
             ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, model_version = excluded.model_version,
                 answered = excluded.answered, failure_reason = excluded.failure_reason, ended_at = excluded.ended_at
             """, context.CancellationToken);
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

/// <summary><c>QuestionJobEnded</c> on a queue of its own.</summary>
public sealed class QuestionJobEndedConsumerDefinition : ConsumerDefinition<QuestionJobEndedConsumer>
{
    public QuestionJobEndedConsumerDefinition(IOptions<IndexingOptions> options) => EndpointName = options.Value.JobsQueueName;
}
