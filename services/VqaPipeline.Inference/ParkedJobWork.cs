using VqaPipeline.Contracts.V1;
using VqaPipeline.Inference.Data;
using VqaPipeline.Messaging.Redelivery;

namespace VqaPipeline.Inference;

/// <summary>
/// A job whose start or one of whose image batches was given up on (parked past the delivery limit, or failing for a
/// reason no wait cures) fails with that reason, announced with <see cref="QuestionJobEnded"/>: never running for ever.
/// </summary>
public sealed class ParkedJobWork(InferenceDbContext db, ILogger<ParkedJobWork> logger)
    : IParkedMessageHandler<QuestionJobSubmitted>, IParkedMessageHandler<ImageBatchRequested>
{
    public Task ParkedAsync(QuestionJobSubmitted message, string reason, CancellationToken cancellationToken) =>
        FailAsync(message.JobId, $"the job could not be started: {reason}", cancellationToken);

    public Task ParkedAsync(ImageBatchRequested message, string reason, CancellationToken cancellationToken) =>
        FailAsync(message.JobId, $"a batch of {message.ImageIds.Count} images could not be answered: {reason}", cancellationToken);

    private async Task FailAsync(Guid jobId, string reason, CancellationToken cancellationToken)
    {
        await JobProgress.LockAsync(db, jobId, cancellationToken);
        if (await JobProgress.FailAsync(db, jobId, reason, cancellationToken))
            logger.LogError("Job {JobId} failed: {Reason}", jobId, reason);
    }
}
