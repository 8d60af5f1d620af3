using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Inference.Data;

namespace VqaPipeline.Inference;

/// <summary>
/// Keeps this service's view of the images (<see cref="CollectionImage"/>) from what ingestion and preprocessing
/// announce, in whatever order their messages arrive, and lets every active job over the image's collection take in
/// an image that became ready (sent for answering) or was rejected (failed with its reason) — a job takes in only
/// images of its own team (<see cref="JobProgress.ClaimAsync"/>).
/// </summary>
public sealed class ImageEventsConsumer(InferenceDbContext db, JobProgress progress, ILogger<ImageEventsConsumer> logger)
    : IConsumer<ImageIngested>, IConsumer<ImagePreprocessed>, IConsumer<ImageRejected>
{
    public async Task Consume(ConsumeContext<ImageIngested> context)
    {
        var m = context.Message;
        await RecordAsync(m.TeamId, m.ImageId, m.CollectionId, m.FileName, m.ObjectKey, CollectionImageStatus.Pending, null, null,
            m.IngestedAt, context.CancellationToken);
        // Its outcome may have come first, before the image's team was known: running jobs of the team take it in now.
        if (await db.Images.AnyAsync(i => i.Id == m.ImageId && i.Status != CollectionImageStatus.Pending, context.CancellationToken))
            await JoinActiveJobsAsync(m.CollectionId, m.ImageId, context.CancellationToken);
    }

    public async Task Consume(ConsumeContext<ImagePreprocessed> context)
    {
        var m = context.Message;
        await RecordAsync(m.TeamId, m.ImageId, m.CollectionId, m.FileName, null, CollectionImageStatus.Ready, m.PreprocessedObjectKey, null,
            m.IngestedAt, context.CancellationToken);
        await JoinActiveJobsAsync(m.CollectionId, m.ImageId, context.CancellationToken);
    }

    public async Task Consume(ConsumeContext<ImageRejected> context)
    {
        var m = context.Message;
        await RecordAsync(m.TeamId, m.ImageId, m.CollectionId, m.FileName, null, CollectionImageStatus.Rejected, null, m.Reason,
            m.IngestedAt, context.CancellationToken);
        await JoinActiveJobsAsync(m.CollectionId, m.ImageId, context.CancellationToken);
    }

    /// <summary>
    /// One upsert, whichever message comes first: <c>ImageIngested</c> brings the name, the original and the time and
    /// never moves an image back to pending; an outcome brings the state. The team is the first one a message names
    /// (<see cref="Guid.Empty"/>, a message from before teams, names none).
    /// </summary>
    private Task RecordAsync(Guid teamId, Guid imageId, Guid collectionId, string? fileName, string? objectKey, CollectionImageStatus status,
        string? preprocessedKey, string? reason, DateTimeOffset? ingestedAt, CancellationToken cancellationToken)
    {
        var statusText = status.ToString().ToLowerInvariant();
        var createdAt = ingestedAt ?? DateTimeOffset.UtcNow;
        return db.Database.ExecuteSqlInterpolatedAsync(
            $"""
             INSERT INTO images (id, team_id, collection_id, file_name, object_key, status, preprocessed_object_key, rejection_reason, created_at)
             VALUES ({imageId}, {teamId}, {collectionId}, {fileName ?? ""}, {objectKey}, {statusText}, {preprocessedKey}, {reason}, {createdAt})
             ON CONFLICT (id) DO UPDATE SET
                 team_id = CASE WHEN images.team_id = {Guid.Empty} THEN excluded.team_id ELSE images.team_id END,
                 file_name = CASE WHEN excluded.file_name <> '' THEN excluded.file_name ELSE images.file_name END,
                 object_key = coalesce(excluded.object_key, images.object_key),
                 created_at = CASE WHEN {ingestedAt.HasValue} THEN excluded.created_at ELSE images.created_at END,
                 status = CASE WHEN excluded.status = 'pending' THEN images.status ELSE excluded.status END,
                 preprocessed_object_key = CASE WHEN excluded.status = 'pending' THEN images.preprocessed_object_key
                                                ELSE excluded.preprocessed_object_key END,
                 rejection_reason = CASE WHEN excluded.status = 'pending' THEN images.rejection_reason
                                         ELSE excluded.rejection_reason END
             """, cancellationToken);
    }

    private async Task JoinActiveJobsAsync(Guid collectionId, Guid imageId, CancellationToken cancellationToken)
    {
        // In id order, so that consumers locking several jobs of one collection always lock them in the same order.
        var jobs = await db.QuestionJobs.AsNoTracking()
            .Where(j => j.CollectionId == collectionId && JobStatuses.Active.Contains(j.Status))
            .OrderBy(j => j.Id)
            .ToListAsync(cancellationToken);
        foreach (var job in jobs)
            await progress.ClaimAsync(db, job, imageId, cancellationToken);
        if (jobs.Count > 0)
            logger.LogInformation("Image {ImageId} joined {Jobs} running job(s) of collection {CollectionId}", imageId, jobs.Count, collectionId);
    }
}
