using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Messaging;
using Npgsql;

namespace VqaPipeline.Indexing;

/// <summary>
/// Indexes the answers of <see cref="AnswersProduced"/> messages, a batch per transaction (the inbox filter's).
/// Idempotent by the index's natural keys, so a redelivered, duplicated or replayed message leaves the index as it
/// was. A message the index cannot hold (a question or model version past its columns, or anything else the database
/// refuses as data) is parked with its reason — logged, counted and marked in the event log — and the rest of its
/// batch is indexed: one bad message never sends the batch back to the broker.
/// </summary>
public sealed class AnswersProducedConsumer(IndexingDbContext db, MessagingMetrics metrics, ILogger<AnswersProducedConsumer> logger)
    : IConsumer<Batch<AnswersProduced>>
{
    private const string Savepoint = "answers";

    public async Task Consume(ConsumeContext<Batch<AnswersProduced>> context)
    {
        var cancellationToken = context.CancellationToken;
        var indexable = new List<ConsumeContext<AnswersProduced>>();
        foreach (var consumed in context.Message)
        {
            if (Problem(consumed.Message) is { } problem)
                Park(consumed, problem);
            else
                indexable.Add(consumed);
        }
        if (await TryUpsertAsync(indexable.Select(consumed => consumed.Message).ToList(), cancellationToken) is not null)
        {
            // Something in the batch is refused beyond the known limits: each message alone finds which.
            foreach (var consumed in indexable)
                if (await TryUpsertAsync([consumed.Message], cancellationToken) is { } refusal)
                    Park(consumed, $"the index refused it: {refusal}");
        }
        logger.LogInformation("Indexed the answers of {Count} AnswersProduced messages", context.Message.Length);
    }

    /// <summary>Why <paramref name="message"/> cannot be indexed, as far as the columns' known limits tell.</summary>
    private static string? Problem(AnswersProduced message) =>
        TextLimits.ModelVersionProblem(message.ModelVersion)
        ?? message.Questions.Select(q => TextLimits.QuestionProblem(q.Question)).FirstOrDefault(problem => problem is not null);

    /// <summary>
    /// Upserts <paramref name="messages"/> inside a savepoint of the inbox's transaction; on data the database refuses,
    /// rolls back to it (so the transaction goes on) and returns the database's reason.
    /// </summary>
    private async Task<string?> TryUpsertAsync(IReadOnlyList<AnswersProduced> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
            return null;
        var transaction = db.Database.CurrentTransaction
            ?? throw new InvalidOperationException("the inbox filter runs this consumer in a transaction");
        await transaction.CreateSavepointAsync(Savepoint, cancellationToken);
        try
        {
            await AnswerIndex.UpsertAsync(db, messages, cancellationToken);
        }
        catch (PostgresException error) when (IsRefusedData(error))
        {
            await transaction.RollbackToSavepointAsync(Savepoint, cancellationToken);
            return error.MessageText;
        }
        await transaction.ReleaseSavepointAsync(Savepoint, cancellationToken);
        return null;
    }

    /// <summary>
    /// Data exceptions (class 22: a value too long for its column…), program limits (class 54: an index row too large)
    /// and check violations are the message's own; anything else (a lost connection, a deadlock) is retried as it was.
    /// </summary>
    private static bool IsRefusedData(PostgresException error) =>
        error.SqlState.StartsWith("22", StringComparison.Ordinal) || error.SqlState.StartsWith("54", StringComparison.Ordinal)
        || error.SqlState == PostgresErrorCodes.CheckViolation;

    private void Park(ConsumeContext<AnswersProduced> consumed, string reason)
    {
        var message = consumed.Message;
        db.ParkConsumed(consumed, reason);
        metrics.ConsumedParked(nameof(AnswersProduced));
        logger.LogError("Parked AnswersProduced {MessageId} (job {JobId}, image {ImageId}); the rest of its batch is indexed: {Reason}",
            consumed.MessageId, message.JobId, message.ImageId, reason);
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
