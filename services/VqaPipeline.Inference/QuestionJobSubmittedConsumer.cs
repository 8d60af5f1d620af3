using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;

namespace VqaPipeline.Inference;

/// <summary>
/// Starts a job: loads its model (once per process), marks it running with the model's version, and sends its
/// collection's ready images to the batch queue; rejected images count as failed at once. Idempotent through the
/// inbox and the (job, image) key: a redelivered message sends nothing twice.
/// </summary>
public sealed class QuestionJobSubmittedConsumer(
    VqaDbContext db, ModelCatalog models, JobProgress progress,
    ILogger<QuestionJobSubmittedConsumer> logger) : IConsumer<QuestionJobSubmitted>
{
    public const string InboxName = $"{InferenceService.Name}.{nameof(QuestionJobSubmittedConsumer)}";

    public async Task Consume(ConsumeContext<QuestionJobSubmitted> context)
    {
        var message = context.Message;
        var messageId = context.MessageId ?? throw new InvalidOperationException($"QuestionJobSubmitted for job {message.JobId} has no MessageId");
        var cancellationToken = context.CancellationToken;
        var job = await db.QuestionJobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == message.JobId, cancellationToken);
        if (job is null)
        {
            logger.LogWarning("QuestionJobSubmitted {MessageId} names job {JobId}, which is not in this database; skipped", messageId, message.JobId);
            return;
        }

        LoadedModel? model = null;
        string? failure = null;
        if (JobProgress.Active.Contains(job.Status))
        {
            try
            {
                model = await models.GetAsync(job.Model, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                failure = $"model '{job.Model}' could not be loaded: {exception.Message}";
                logger.LogError("Job {JobId} failed: {Reason}", job.Id, failure);
            }
        }

        List<(object Message, Guid MessageId)> outgoing = [];
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            if (!await db.TryMarkProcessedAsync(InboxName, messageId, cancellationToken))
            {
                logger.LogInformation("QuestionJobSubmitted {MessageId} was already handled; skipped", messageId);
                return;
            }
            db.EventLog.Add(EventLogEntry.For(messageId, message, DateTimeOffset.UtcNow, message.CollectionId, jobId: job.Id));
            if (failure is not null)
                await JobProgress.FailAsync(db, job.Id, failure, cancellationToken);
            if (model is not null)
            {
                var now = DateTimeOffset.UtcNow;
                await db.QuestionJobs.Where(j => j.Id == job.Id && j.Status == JobStatus.Pending)
                    .ExecuteUpdateAsync(set => set
                        .SetProperty(j => j.Status, JobStatus.Running)
                        .SetProperty(j => j.ModelVersion, model.Version)
                        .SetProperty(j => j.StartedAt, now)
                        .SetProperty(j => j.UpdatedAt, now), cancellationToken);
                outgoing = await progress.ClaimAsync(db, job, imageId: null, cancellationToken);
            }
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await JobProgress.UpdateAsync(db, job.Id, cancellationToken);
        logger.LogInformation("Job {JobId} started with model {ModelVersion}: {Batches} image batches sent",
            job.Id, model?.Version, outgoing.Count);
    }
}
