using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Storage;

namespace VqaPipeline.Ingestion;

/// <summary>
/// A training run over a collection's labels needs them as a dataset, and only this service holds labels and images:
/// it writes them under <c>datasets/training-runs/{runId}/</c> and answers <see cref="TrainingDatasetPrepared"/>, or
/// <see cref="TrainingDatasetRejected"/> with the reason. Runs over a stored dataset are not its business.
/// </summary>
public sealed class TrainingDatasetConsumer(IngestionDbContext db, TrainingDatasetWriter writer) : IConsumer<TrainingRequested>
{
    public async Task Consume(ConsumeContext<TrainingRequested> context)
    {
        var request = context.Message;
        if (request.Dataset.CollectionId is not { } collectionId)
            return;
        var outcome = await writer.WriteAsync(request.RunId, request.TeamId, collectionId, context.CancellationToken);
        db.AddOutgoing(outcome);
    }
}

/// <summary>
/// Writes a collection's labels as an image-folder dataset (<c>metadata.jsonl</c> and the model-ready images): one
/// line per label on a ready image; labels on images not ready are left out and counted.
/// </summary>
public sealed class TrainingDatasetWriter(IngestionDbContext db, ObjectStore store, ILogger<TrainingDatasetWriter> logger)
{
    /// <summary>Where the dataset of run <paramref name="runId"/> is stored.</summary>
    public static string PrefixOf(Guid runId) => $"datasets/training-runs/{runId:N}";

    /// <summary>
    /// The message that answers the run of team <paramref name="teamId"/>: the dataset written, or why there is none
    /// (another team's collection is one that does not exist).
    /// </summary>
    public async Task<object> WriteAsync(Guid runId, Guid teamId, Guid collectionId, CancellationToken cancellationToken)
    {
        if (!await db.Collections.AnyAsync(c => c.Id == collectionId && c.TeamId == teamId, cancellationToken))
            return new TrainingDatasetRejected(runId, collectionId, $"collection {collectionId} does not exist") { TeamId = teamId };
        var labels = await db.Labels.AsNoTracking()
            .Where(l => l.CollectionId == collectionId)
            .Join(db.Images.AsNoTracking(), l => l.ImageId, i => i.Id, (l, i) => new { Label = l, Image = i })
            .OrderBy(row => row.Image.CreatedAt).ThenBy(row => row.Label.Question)
            .ToListAsync(cancellationToken);
        var usable = labels.Where(row => row.Image is { Status: ImageStatus.Ready, PreprocessedObjectKey: not null }).ToList();
        if (usable.Count == 0)
            return new TrainingDatasetRejected(runId, collectionId, labels.Count == 0
                ? $"collection {collectionId} has no labels"
                : $"none of the {labels.Count} labels of collection {collectionId} is on a ready image") { TeamId = teamId };
        if (usable.Count < labels.Count)
            logger.LogWarning("{Skipped} of {Count} labels of collection {CollectionId} are on images that are not ready; left out",
                labels.Count - usable.Count, labels.Count, collectionId);

        var folder = Directory.CreateTempSubdirectory("vqa-training-dataset-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "images"));
            await using (var metadata = new StreamWriter(Path.Combine(folder, "metadata.jsonl")))
            {
                foreach (var image in usable.Select(row => row.Image).DistinctBy(i => i.Id))
                {
                    await using var source = await store.GetAsync(image.PreprocessedObjectKey!, cancellationToken);
                    await using var target = File.Create(Path.Combine(folder, "images", $"{image.Id:N}.png"));
                    await source.CopyToAsync(target, cancellationToken);
                }
                foreach (var (label, image) in usable.Select(row => (row.Label, row.Image)))
                {
                    // One answer is everyone's answer; several are the annotators' answers, counted for soft scores.
                    var line = label.Answers.Count == 1
                        ? JsonSerializer.Serialize(new { file_name = $"images/{image.Id:N}.png", question = label.Question, answer = label.Answers[0] })
                        : JsonSerializer.Serialize(new { file_name = $"images/{image.Id:N}.png", question = label.Question, answers = label.Answers });
                    await metadata.WriteLineAsync(line);
                }
            }
            await store.UploadFolderAsync(folder, PrefixOf(runId), cancellationToken: cancellationToken);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        logger.LogInformation("Wrote {Examples} labels of collection {CollectionId} for training run {RunId}", usable.Count, collectionId, runId);
        return new TrainingDatasetPrepared(runId, collectionId, PrefixOf(runId), usable.Count, labels.Count - usable.Count) { TeamId = teamId };
    }
}
