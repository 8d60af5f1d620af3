using System.Diagnostics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Inference.Data;
using VqaPipeline.Messaging;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Storage;

namespace VqaPipeline.Inference;

/// <summary>
/// Answers batches of a job's images: reads their model-ready copies (each command's images while the engine answers
/// the previous command's), runs the engine over every (image, question) pair of a command's images together (all of
/// a job's questions for an image in the same passes), and records the top-k answers. Images already answered are
/// skipped, so a batch sent twice changes nothing; a cancelled or finished job takes no more work.
/// </summary>
public sealed class ImageBatchConsumer(
    InferenceDbContext db, ObjectStore store, ImageLoader loader, ModelCatalog models, IAnswerRecorder recorder,
    IOptions<InferenceOptions> options, InferenceMetrics metrics, ILogger<ImageBatchConsumer> logger) : IConsumer<Batch<ImageBatchRequested>>
{
    public async Task Consume(ConsumeContext<Batch<ImageBatchRequested>> context)
    {
        // Each image's answers continue the trace of the command that asked for it (its upload's, or its job's).
        var traceParents = new Dictionary<Guid, string>();
        foreach (var command in context.Message)
            if (command.Headers.Get<string>(TraceContext.Header) is { } traceParent)
                foreach (var imageId in command.Message.ImageIds)
                    traceParents.TryAdd(imageId, traceParent);
        foreach (var job in context.Message.GroupBy(message => message.Message.JobId))
            await AnswerAsync(job.Key, job.SelectMany(message => message.Message.ImageIds).Distinct().ToList(), traceParents,
                context.CancellationToken);
    }

    private async Task AnswerAsync(Guid jobId, IReadOnlyList<Guid> requested, IReadOnlyDictionary<Guid, string> traceParents,
        CancellationToken cancellationToken)
    {
        var job = await db.QuestionJobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null)
        {
            logger.LogWarning("ImageBatchRequested names job {JobId}, which is not in this database; skipped", jobId);
            return;
        }
        var queued = await db.JobImages.AsNoTracking()
            .Where(i => i.JobId == jobId && requested.Contains(i.ImageId) && i.State == JobImageState.Queued)
            .Select(i => i.ImageId)
            .ToListAsync(cancellationToken);
        if (!job.Status.IsActive() || queued.Count == 0)
        {
            logger.LogInformation("Job {JobId} is {Status} with {Queued} of {Requested} images still queued: batch skipped",
                jobId, job.Status, queued.Count, requested.Count);
            return;
        }

        LoadedModel model;
        try
        {
            model = await models.GetAsync(job.Model, job.TeamId, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            await JobProgress.FailAsync(db, jobId, $"model '{job.Model}' could not be loaded: {exception.Message}", cancellationToken);
            return;
        }

        var stopwatch = Stopwatch.StartNew();
        var rows = await db.Images.AsNoTracking().Where(i => queued.Contains(i.Id))
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id).ToListAsync(cancellationToken);
        var answered = new Dictionary<Guid, IReadOnlyList<QuestionAnswers>>();
        var failed = new Dictionary<Guid, string>();
        TimeSpan waitedForStorage = TimeSpan.Zero, engine = TimeSpan.Zero;
        // The next group of images is read while the engine answers this one, so storage costs only the first group.
        var groups = rows.Chunk(Math.Max(1, options.Value.ImagesPerBatch)).ToList();
        var next = groups.Count > 0 ? ReadImagesAsync(groups[0], cancellationToken) : null;
        for (var g = 0; g < groups.Count; g++)
        {
            var waitStarted = stopwatch.Elapsed;
            var images = await next!;
            next = g + 1 < groups.Count ? ReadImagesAsync(groups[g + 1], cancellationToken) : null;
            waitedForStorage += stopwatch.Elapsed - waitStarted;
            var engineStarted = stopwatch.Elapsed;
            foreach (var (id, reason) in images.Failed)
                failed[id] = reason;
            foreach (var (id, answers) in await JobAnswers.AnswerAsync(model, job.Questions, job.TopK, images.Read, cancellationToken))
                answered[id] = answers;
            engine += stopwatch.Elapsed - engineStarted;
        }
        var answeredAt = stopwatch.Elapsed;

        await recorder.RecordAsync(new BatchOutcome(job, model.Version, rows.ToDictionary(row => row.Id), answered, failed, traceParents), cancellationToken);
        metrics.RecordBatch(answered.Count, failed.Count, answered.Count * job.Questions.Count, stopwatch.Elapsed);
        logger.LogInformation(
            "Job {JobId}: {Images} images × {Questions} questions answered, {Failed} failed, in {ElapsedMs:0} ms " +
            "(storage {ReadMs:0} ms, engine {EngineMs:0} ms, database {RecordMs:0} ms)",
            jobId, answered.Count, job.Questions.Count, failed.Count, stopwatch.Elapsed.TotalMilliseconds,
            waitedForStorage.TotalMilliseconds, engine.TotalMilliseconds, (stopwatch.Elapsed - answeredAt).TotalMilliseconds);
    }

    /// <summary>
    /// Reads and decodes a group's model-ready copies all at once: one at a time, each storage round trip would add its
    /// latency while the engine waits.
    /// </summary>
    private async Task<(List<(Guid Id, RgbImage Pixels)> Read, Dictionary<Guid, string> Failed)> ReadImagesAsync(
        IReadOnlyList<CollectionImage> rows, CancellationToken cancellationToken)
    {
        var reads = await Task.WhenAll(rows.Select(row => ReadImageAsync(row, cancellationToken)));
        var images = new List<(Guid, RgbImage)>();
        var failed = new Dictionary<Guid, string>();
        foreach (var (row, (pixels, reason)) in rows.Zip(reads))
        {
            if (pixels is not null)
                images.Add((row.Id, pixels));
            else
                failed[row.Id] = reason!;
        }
        return (images, failed);
    }

    private async Task<(RgbImage? Pixels, string? FailureReason)> ReadImageAsync(CollectionImage row, CancellationToken cancellationToken)
    {
        if (row.PreprocessedObjectKey is not { } key)
            return (null, $"image '{row.FileName}' has no model-ready copy (status {row.Status.ToString().ToLowerInvariant()})");
        try
        {
            await using var content = await store.GetAsync(key, cancellationToken);
            return (loader.LoadStream(content), null);
        }
        catch (Exception exception) when (exception is FileNotFoundException or ImageLoadException)
        {
            return (null, $"model-ready copy of '{row.FileName}' is unusable: {exception.Message}");
        }
    }
}
