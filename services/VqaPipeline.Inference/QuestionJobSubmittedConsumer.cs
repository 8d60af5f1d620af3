using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Inference.Data;
using VqaPipeline.Hosting;

namespace VqaPipeline.Inference;

/// <summary>
/// Starts a job: loads its model (once per process), marks it running with the model's version, and sends its
/// collection's ready images to the batch queue; rejected images count as failed at once. A job that has ended, or
/// that this service does not hold, is left alone; a model that will not load fails the job with the reason.
/// </summary>
public sealed class QuestionJobSubmittedConsumer(
    InferenceDbContext db, ModelCatalog models, JobProgress progress,
    ILogger<QuestionJobSubmittedConsumer> logger) : IConsumer<QuestionJobSubmitted>
{
    public async Task Consume(ConsumeContext<QuestionJobSubmitted> context)
    {
        var message = context.Message;
        var cancellationToken = context.CancellationToken;
        var job = await db.QuestionJobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == message.JobId, cancellationToken);
        if (job is null || !job.Status.IsActive())
        {
            logger.LogInformation("QuestionJobSubmitted names job {JobId}, which is {State}; nothing to start",
                message.JobId, job is null ? "not held by this service" : job.Status.Text());
            return;
        }

        LoadedModel model;
        try
        {
            model = await models.GetAsync(job.Model, job.TeamId, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var reason = $"model '{job.Model}' could not be loaded: {exception.Message}";
            logger.LogError("Job {JobId} failed: {Reason}", job.Id, LogText.Sanitize(reason, LogText.MaxLength * 2));
            await JobProgress.FailAsync(db, job.Id, reason, cancellationToken);
            return;
        }

        var now = DateTimeOffset.UtcNow;
        await db.QuestionJobs.Where(j => j.Id == job.Id && j.Status == JobStatus.Pending)
            .ExecuteUpdateAsync(set => set
                .SetProperty(j => j.Status, JobStatus.Running)
                .SetProperty(j => j.ModelVersion, model.Version)
                .SetProperty(j => j.StartedAt, now)
                .SetProperty(j => j.UpdatedAt, now), cancellationToken);
        var batches = await progress.ClaimAsync(db, job, imageId: null, cancellationToken);
        logger.LogInformation("Job {JobId} started with model {ModelVersion}: {Batches} image batches sent", job.Id, LogText.Sanitize(model.Version), batches);
    }
}
