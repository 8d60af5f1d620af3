using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Hosting;

namespace VqaPipeline.Ingestion;

/// <summary>
/// Records on each image what the preprocessing service made of it: ready with its size, format and model-ready copy,
/// or rejected with the reason. The latest outcome wins (a replayed image may be preprocessed again); an image this
/// service does not hold (another deployment sharing the broker) is left alone.
/// </summary>
public sealed class ImageOutcomeConsumer(IngestionDbContext db, TimeProvider clock, ILogger<ImageOutcomeConsumer> logger)
    : IConsumer<ImagePreprocessed>, IConsumer<ImageRejected>
{
    public Task Consume(ConsumeContext<ImagePreprocessed> context)
    {
        var message = context.Message;
        return ApplyAsync(message.ImageId, image =>
            (image.Status, image.Width, image.Height, image.Format, image.PreprocessedObjectKey, image.RejectionReason) =
            (ImageStatus.Ready, message.Width, message.Height, message.Format, message.PreprocessedObjectKey, null),
            context.CancellationToken);
    }

    public Task Consume(ConsumeContext<ImageRejected> context)
    {
        var message = context.Message;
        return ApplyAsync(message.ImageId, image =>
            (image.Status, image.PreprocessedObjectKey, image.RejectionReason) = (ImageStatus.Rejected, null, message.Reason),
            context.CancellationToken);
    }

    private async Task ApplyAsync(Guid imageId, Action<Image> apply, CancellationToken cancellationToken)
    {
        var image = await db.Images.SingleOrDefaultAsync(i => i.Id == imageId, cancellationToken);
        if (image is null)
        {
            logger.LogWarning("An outcome names image {ImageId}, which this service does not hold; ignored", imageId);
            return;
        }
        apply(image);
        if (db.Entry(image).State == EntityState.Modified)
            image.UpdatedAt = clock.GetUtcNow();
        logger.LogInformation("Image {ImageId} ({FileName}) is {Status}{Reason}", image.Id, LogText.Sanitize(image.FileName),
            LowerCase(image.Status), image.RejectionReason is { } reason ? $": {LogText.Sanitize(reason)}" : "");
    }

    private static string LowerCase(ImageStatus status) => status.ToString().ToLowerInvariant();
}
