using System.Diagnostics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Storage;

namespace VqaPipeline.Inference;

/// <summary>
/// Answers batches of a job's images: reads their model-ready copies, runs the engine over every (image, question)
/// pair of the batch together (all of a job's questions for an image in the same passes), and records the top-k
/// answers. Images already answered are skipped, so a redelivered batch changes nothing; a cancelled or finished job
/// takes no more work.
/// </summary>
public sealed class ImageBatchConsumer(
    VqaDbContext db, ObjectStore store, ImageLoader loader, ModelCatalog models, IAnswerRecorder recorder,
    InferenceMetrics metrics, ILogger<ImageBatchConsumer> logger) : IConsumer<Batch<ImageBatchRequested>>
{
    public async Task Consume(ConsumeContext<Batch<ImageBatchRequested>> context)
    {
        foreach (var job in context.Message.GroupBy(message => message.Message.JobId))
        {
            var consumed = job.Select(message => (message.Message, message.MessageId
                ?? throw new InvalidOperationException($"an ImageBatchRequested of job {job.Key} has no MessageId"))).ToList();
            await AnswerAsync(context, job.Key, consumed, context.CancellationToken);
        }
    }

    private async Task AnswerAsync(
        ConsumeContext context, Guid jobId, IReadOnlyList<(ImageBatchRequested Message, Guid MessageId)> consumed,
        CancellationToken cancellationToken)
    {
        var job = await db.QuestionJobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null)
        {
            logger.LogWarning("ImageBatchRequested names job {JobId}, which is not in this database; skipped", jobId);
            return;
        }
        var requested = consumed.SelectMany(c => c.Message.ImageIds).Distinct().ToList();
        var queued = await db.JobImages.AsNoTracking()
            .Where(i => i.JobId == jobId && requested.Contains(i.ImageId) && i.State == JobImageState.Queued)
            .Select(i => i.ImageId)
            .ToListAsync(cancellationToken);
        var active = job.Status is JobStatus.Pending or JobStatus.Running;
        if (!active || queued.Count == 0)
        {
            await recorder.RecordAsync(new BatchOutcome(job, job.ModelVersion ?? "", Empty, NoFailures, consumed), cancellationToken);
            // A redelivery after the answers were committed still owes the job its recount (and perhaps completion).
            await JobProgress.UpdateAsync(db, jobId, cancellationToken);
            logger.LogInformation("Job {JobId} is {Status} with {Queued} of {Requested} images still queued: batch skipped",
                jobId, job.Status, queued.Count, requested.Count);
            return;
        }

        LoadedModel model;
        try
        {
            model = await models.GetAsync(job.Model, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            await JobProgress.FailAsync(db, jobId, $"model '{job.Model}' could not be loaded: {exception.Message}", cancellationToken);
            return;
        }

        var stopwatch = Stopwatch.StartNew();
        var (images, failed) = await ReadImagesAsync(queued, cancellationToken);
        var queries = images.SelectMany(image => job.Questions.Select(question => new VqaQuery(image.Pixels, question))).ToArray();
        IReadOnlyList<VqaResult> results;
        await model.Gate.WaitAsync(cancellationToken);
        try
        {
            results = queries.Length == 0 ? [] : model.Engine.Ask(queries, job.TopK);
        }
        finally
        {
            model.Gate.Release();
        }

        var answered = new Dictionary<Guid, IReadOnlyList<QuestionAnswers>>();
        for (var i = 0; i < images.Count; i++)
            answered[images[i].Id] = results.Skip(i * job.Questions.Count).Take(job.Questions.Count)
                .Select((result, q) => new QuestionAnswers(job.Questions[q],
                    result.Answers.Select(a => new Answer(a.Answer, a.Score)).ToArray()))
                .ToArray();
        var outgoing = await recorder.RecordAsync(
            new BatchOutcome(job, model.Version, answered, failed, consumed), cancellationToken);
        await JobProgress.UpdateAsync(db, jobId, cancellationToken);
        metrics.RecordBatch(images.Count, failed.Count, queries.Length, stopwatch.Elapsed);
        logger.LogInformation("Job {JobId}: {Images} images × {Questions} questions answered, {Failed} failed, in {ElapsedMs:0} ms",
            jobId, images.Count, job.Questions.Count, failed.Count, stopwatch.Elapsed.TotalMilliseconds);
    }

    private async Task<(List<(Guid Id, RgbImage Pixels)> Images, Dictionary<Guid, string> Failed)> ReadImagesAsync(
        IReadOnlyList<Guid> imageIds, CancellationToken cancellationToken)
    {
        var rows = await db.Images.AsNoTracking().Where(i => imageIds.Contains(i.Id))
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id).ToListAsync(cancellationToken);
        var images = new List<(Guid, RgbImage)>();
        var failed = new Dictionary<Guid, string>();
        foreach (var row in rows)
        {
            if (row.PreprocessedObjectKey is not { } key)
            {
                failed[row.Id] = $"image '{row.FileName}' has no model-ready copy (status {row.Status.ToString().ToLowerInvariant()})";
                continue;
            }
            try
            {
                await using var content = await store.GetAsync(key, cancellationToken);
                images.Add((row.Id, loader.LoadStream(content)));
            }
            catch (Exception exception) when (exception is FileNotFoundException or ImageLoadException)
            {
                failed[row.Id] = $"model-ready copy of '{row.FileName}' is unusable: {exception.Message}";
            }
        }
        return (images, failed);
    }

    private static readonly IReadOnlyDictionary<Guid, IReadOnlyList<QuestionAnswers>> Empty =
        new Dictionary<Guid, IReadOnlyList<QuestionAnswers>>();

    private static readonly IReadOnlyDictionary<Guid, string> NoFailures = new Dictionary<Guid, string>();
}
