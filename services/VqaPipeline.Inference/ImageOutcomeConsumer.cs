using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;

namespace VqaPipeline.Inference;

/// <summary>
/// An image of a collection became ready or was rejected: every active job over that collection takes it in (a ready
/// image is sent for answering, a rejected one counts as failed with its reason). Idempotent through the inbox and
/// the (job, image) key.
/// </summary>
public sealed class ImageOutcomeConsumer(
    VqaDbContext db, JobProgress progress, ILogger<ImageOutcomeConsumer> logger)
    : IConsumer<ImagePreprocessed>, IConsumer<ImageRejected>
{
    public const string InboxName = $"{InferenceService.Name}.{nameof(ImageOutcomeConsumer)}";

    public Task Consume(ConsumeContext<ImagePreprocessed> context) =>
        HandleAsync(context, context.Message.CollectionId, context.Message.ImageId,
            (id, now) => EventLogEntry.For(id, context.Message, now, context.Message.CollectionId, context.Message.ImageId));

    public Task Consume(ConsumeContext<ImageRejected> context) =>
        HandleAsync(context, context.Message.CollectionId, context.Message.ImageId,
            (id, now) => EventLogEntry.For(id, context.Message, now, context.Message.CollectionId, context.Message.ImageId));

    private async Task HandleAsync(
        ConsumeContext context, Guid collectionId, Guid imageId, Func<Guid, DateTimeOffset, EventLogEntry> logEntry)
    {
        var cancellationToken = context.CancellationToken;
        var messageId = context.MessageId ?? throw new InvalidOperationException($"a message about image {imageId} has no MessageId");
        if (!await db.Collections.AnyAsync(c => c.Id == collectionId, cancellationToken))
            return; // a collection of another deployment sharing the broker

        var jobs = await db.QuestionJobs.AsNoTracking()
            .Where(j => j.CollectionId == collectionId && (j.Status == JobStatus.Pending || j.Status == JobStatus.Running))
            .ToListAsync(cancellationToken);
        List<(object Message, Guid MessageId)> outgoing = [];
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            if (!await db.TryMarkProcessedAsync(InboxName, messageId, cancellationToken))
                return;
            db.EventLog.Add(logEntry(messageId, DateTimeOffset.UtcNow));
            foreach (var job in jobs)
                outgoing.AddRange(await progress.ClaimAsync(db, job, imageId, cancellationToken));
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        foreach (var job in jobs)
            await JobProgress.UpdateAsync(db, job.Id, cancellationToken);
        if (jobs.Count > 0)
            logger.LogInformation("Image {ImageId} joined {Jobs} running job(s) of collection {CollectionId}", imageId, jobs.Count, collectionId);
    }
}
