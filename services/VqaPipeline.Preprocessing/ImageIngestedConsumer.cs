using Stopwatch = System.Diagnostics.Stopwatch;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Messaging.Replay;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Preprocessing.Data;
using VqaPipeline.Storage;
using VqaPipeline.Hosting;

namespace VqaPipeline.Preprocessing;

/// <summary>
/// Turns an ingested original into a model-ready image, or rejects it with a reason, and announces the outcome
/// (through the outbox, in the commit that records it). An image already preprocessed is not preprocessed again, so a
/// new message about it changes nothing; a replayed message (see <see cref="ReplayHeaders"/>) preprocesses it again,
/// updates its row in place and announces the outcome only when it differs from the one recorded.
/// </summary>
public sealed class ImageIngestedConsumer(
    PreprocessingDbContext db,
    ObjectStore store,
    ImageLoader loader,
    PixelBudget pixelBudget,
    PreprocessingMetrics metrics,
    TimeProvider clock,
    ILogger<ImageIngestedConsumer> logger) : IConsumer<ImageIngested>
{
    public async Task Consume(ConsumeContext<ImageIngested> context)
    {
        var message = context.Message;
        var cancellationToken = context.CancellationToken;
        var stopwatch = Stopwatch.StartNew();
        var replayed = context.ReplayedMessageId() is not null;

        // Two different messages about one image take turns: only the first preprocesses it.
        await db.Database.ExecuteSqlInterpolatedAsync($"SELECT pg_advisory_xact_lock(hashtextextended({message.ImageId.ToString()}, 0))", cancellationToken);
        var image = await db.Images.SingleOrDefaultAsync(i => i.Id == message.ImageId, cancellationToken);
        if (image is not null && !replayed)
        {
            logger.LogInformation("Image {ImageId} is already {Status}; ImageIngested {MessageId} changed nothing",
                image.Id, image.Status, context.MessageId);
            return;
        }

        var outcome = await PreprocessAsync(message, cancellationToken);
        (PreprocessingStatus, string?, string?)? recorded = image is null ? null : (image.Status, image.PreprocessedObjectKey, image.RejectionReason);
        if (image is null)
        {
            image = new PreprocessedImage { Id = message.ImageId, CollectionId = message.CollectionId, FileName = message.FileName, ObjectKey = message.ObjectKey };
            db.Images.Add(image);
        }
        var announced = outcome.Apply(image, clock.GetUtcNow(), message);
        if (recorded == (image.Status, image.PreprocessedObjectKey, image.RejectionReason))
        {
            logger.LogInformation("Image {ImageId} preprocessed again by replayed ImageIngested {MessageId}: still {Status}",
                image.Id, context.MessageId, image.Status);
            return;
        }
        db.AddOutgoing(announced);

        metrics.Record(image.Status.ToString().ToLowerInvariant(), (outcome as Rejected)?.Failure.ToString(), stopwatch.Elapsed);
        logger.LogInformation("Image {ImageId} ({FileName}) is {Status}{Reason} in {ElapsedMs:0} ms",
            image.Id, LogText.Sanitize(image.FileName), image.Status, image.RejectionReason is { } reason ? $": {LogText.Sanitize(reason)}" : "",
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
            return new Rejected(ImageLoadFailure.NotFound, $"original '{message.ObjectKey}' is not in object storage.");
        }

        // The decoded pixels and their PNG are the worker's big allocations: held only within the budget's share.
        int width, height;
        byte[] encoded;
        var (pixels, format) = ModelReadyImage.ReadHeader(original);
        using (await pixelBudget.AcquireAsync(pixels > loader.Options.MaxPixels ? 0 : pixels, cancellationToken))
        {
            RgbImage decoded;
            try
            {
                decoded = loader.LoadBytes(original);
            }
            catch (ImageLoadException e)
            {
                // The engine names in-memory data "<bytes>": the file name is what a person recognises.
                return new Rejected(e.Reason, e.Message.Replace(e.ImageSource, $"'{message.FileName}'", StringComparison.Ordinal));
            }
            (width, height, encoded) = (decoded.Width, decoded.Height, ModelReadyImage.EncodePng(decoded));
        }

        await using var png = new MemoryStream(encoded);
        var stored = await store.PutAsync(png, ModelReadyImage.ContentType, ModelReadyImage.Prefix, cancellationToken);
        return new Accepted(width, height,
            format ?? throw new InvalidOperationException("bytes that decoded as an image have no recognisable format"), stored.Key);
    }

    private abstract record Outcome
    {
        /// <summary>
        /// Writes the outcome onto <paramref name="image"/>; returns the message announcing it, which carries the upload's
        /// name and time from <paramref name="ingested"/> for the services that keep their own view of images, and its team.
        /// </summary>
        public abstract object Apply(PreprocessedImage image, DateTimeOffset now, ImageIngested ingested);
    }

    private sealed record Accepted(int Width, int Height, string Format, string ObjectKey) : Outcome
    {
        public override object Apply(PreprocessedImage image, DateTimeOffset now, ImageIngested ingested)
        {
            (image.Status, image.Width, image.Height, image.Format, image.PreprocessedObjectKey, image.RejectionReason, image.UpdatedAt) =
                (PreprocessingStatus.Ready, Width, Height, Format, ObjectKey, null, now);
            return new ImagePreprocessed(image.CollectionId, image.Id, Width, Height, Format, ObjectKey)
            {
                FileName = ingested.FileName, IngestedAt = ingested.IngestedAt, TeamId = ingested.TeamId,
            };
        }
    }

    /// <summary>Rejected for <paramref name="Failure"/>; the reason recorded and announced names it first.</summary>
    private sealed record Rejected(ImageLoadFailure Failure, string Detail) : Outcome
    {
        private string Reason => $"{Failure}: {Detail}";

        public override object Apply(PreprocessedImage image, DateTimeOffset now, ImageIngested ingested)
        {
            (image.Status, image.Width, image.Height, image.Format, image.PreprocessedObjectKey, image.RejectionReason, image.UpdatedAt) =
                (PreprocessingStatus.Rejected, null, null, null, null, Reason, now);
            return new ImageRejected(image.CollectionId, image.Id, Reason) 
            {
                FileName = ingested.FileName, IngestedAt = ingested.IngestedAt, TeamId = ingested.TeamId,
            };
        }
    }
}
