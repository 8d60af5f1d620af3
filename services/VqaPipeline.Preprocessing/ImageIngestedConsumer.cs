using Stopwatch = System.Diagnostics.Stopwatch;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Messaging;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Storage;

namespace VqaPipeline.Preprocessing;

/// <summary>
/// Turns an ingested original into a model-ready image, or rejects it with a reason. Idempotent: the inbox row, the
/// image's new state and the event log entries commit together, so a redelivered or duplicated message, or one for an
/// image that is no longer pending, changes nothing. The outcome goes into the outbox in that same commit. A replayed
/// message (see <see cref="ReplayHeaders"/>) preprocesses a final image again: its row is updated in place, and the
/// outcome is published only when it differs from the one recorded.
/// </summary>
public sealed class ImageIngestedConsumer(
    VqaDbContext db,
    ObjectStore store,
    ImageLoader loader,
    PreprocessingMetrics metrics,
    ILogger<ImageIngestedConsumer> logger) : IConsumer<ImageIngested>
{
    /// <summary>This consumer's name in the inbox.</summary>
    public const string InboxName = $"{PreprocessingService.Name}.{nameof(ImageIngestedConsumer)}";

    public async Task Consume(ConsumeContext<ImageIngested> context)
    {
        var message = context.Message;
        var messageId = context.MessageId
            ?? throw new InvalidOperationException($"ImageIngested for image {message.ImageId} has no MessageId");
        var cancellationToken = context.CancellationToken;
        var stopwatch = Stopwatch.StartNew();
        var replayed = context.ReplayedMessageId() is not null;

        var current = await db.Images.AsNoTracking().SingleOrDefaultAsync(i => i.Id == message.ImageId, cancellationToken)
            ?? throw new InvalidOperationException(
                $"ImageIngested {messageId} names image {message.ImageId}, which is not in the database");
        // The heavy work runs outside the transaction; only a pending image is worth it.
        var outcome = current.Status == ImageStatus.Pending || replayed ? await PreprocessAsync(message, cancellationToken) : null;

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (!await db.TryMarkProcessedAsync(InboxName, messageId, cancellationToken))
        {
            logger.LogInformation("ImageIngested {MessageId} was already handled; skipped", messageId);
            return;
        }
        var now = DateTimeOffset.UtcNow;
        db.EventLog.Add(EventLogEntry.For(context.LoggedMessageId(), message, context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : now,
            message.CollectionId, message.ImageId));

        // Locked, so two different messages about one image cannot both move it out of pending.
        var image = await db.Images
            .FromSql($"SELECT * FROM images WHERE id = {message.ImageId} FOR UPDATE")
            .SingleAsync(cancellationToken);
        if ((image.Status != ImageStatus.Pending && !replayed) || outcome is null)
        {
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            logger.LogInformation("Image {ImageId} is already {Status}; ImageIngested {MessageId} changed nothing",
                image.Id, image.Status, messageId);
            return;
        }

        var recorded = (image.Status, image.PreprocessedObjectKey, image.RejectionReason);
        var published = outcome.Apply(image, now);
        if (recorded == (image.Status, image.PreprocessedObjectKey, image.RejectionReason))
        {
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            logger.LogInformation("Image {ImageId} preprocessed again by replayed ImageIngested {MessageId}: still {Status}",
                image.Id, messageId, image.Status);
            return;
        }
        db.AddOutgoing(published, image.CollectionId, image.Id);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        metrics.Record(image.Status.ToString().ToLowerInvariant(), stopwatch.Elapsed);
        logger.LogInformation("Image {ImageId} ({FileName}) is {Status}{Reason} in {ElapsedMs:0} ms",
            image.Id, image.FileName, image.Status, image.RejectionReason is { } reason ? $": {reason}" : "",
            stopwatch.Elapsed.TotalMilliseconds);
    }

    private async Task<Outcome> PreprocessAsync(ImageIngested message, CancellationToken cancellationToken)
    {
        byte[] original;
        try
        {
            await using var stream = await store.GetAsync(message.ObjectKey, cancellationToken);
            original = ((MemoryStream)stream).ToArray();
        }
        catch (FileNotFoundException)
        {
            return new Rejected($"{ImageLoadFailure.NotFound}: original '{message.ObjectKey}' is not in object storage.");
        }

        RgbImage decoded;
        try
        {
            decoded = loader.LoadBytes(original);
        }
        catch (ImageLoadException e)
        {
            // The engine names in-memory data "<bytes>": the file name is what a person recognises.
            return new Rejected($"{e.Reason}: {e.Message.Replace(e.ImageSource, $"'{message.FileName}'", StringComparison.Ordinal)}");
        }

        await using var png = new MemoryStream(ModelReadyImage.EncodePng(decoded));
        var stored = await store.PutAsync(png, ModelReadyImage.ContentType, ModelReadyImage.Prefix, cancellationToken);
        return new Accepted(decoded.Width, decoded.Height, ModelReadyImage.FormatOf(original), stored.Key);
    }

    private abstract record Outcome
    {
        /// <summary>Writes the outcome onto <paramref name="image"/>; returns the message announcing it.</summary>
        public abstract object Apply(Image image, DateTimeOffset now);
    }

    private sealed record Accepted(int Width, int Height, string Format, string ObjectKey) : Outcome
    {
        public override object Apply(Image image, DateTimeOffset now)
        {
            (image.Status, image.Width, image.Height, image.Format, image.PreprocessedObjectKey, image.RejectionReason, image.UpdatedAt) =
                (ImageStatus.Ready, Width, Height, Format, ObjectKey, null, now);
            return new ImagePreprocessed(image.CollectionId, image.Id, Width, Height, Format, ObjectKey);
        }
    }

    private sealed record Rejected(string Reason) : Outcome
    {
        public override object Apply(Image image, DateTimeOffset now)
        {
            (image.Status, image.RejectionReason, image.UpdatedAt) = (ImageStatus.Rejected, Reason, now);
            return new ImageRejected(image.CollectionId, image.Id, Reason);
        }
    }
}
