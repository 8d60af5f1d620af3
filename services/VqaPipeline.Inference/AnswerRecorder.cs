using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Inference.Data;

namespace VqaPipeline.Inference;

/// <summary>What one batch produced for one job: answers per image, and images that could not be answered.</summary>
/// <param name="Job">The job.</param>
/// <param name="ModelVersion">The model version that answered.</param>
/// <param name="Images">The job's images the batch covered, by id.</param>
/// <param name="Answered">Each answered image with its answers, one entry per job question in the job's order.</param>
/// <param name="Failed">Each failed image with the reason.</param>
public sealed record BatchOutcome(
    QuestionJob Job,
    string ModelVersion,
    IReadOnlyDictionary<Guid, CollectionImage> Images,
    IReadOnlyDictionary<Guid, IReadOnlyList<QuestionAnswers>> Answered,
    IReadOnlyDictionary<Guid, string> Failed,
    IReadOnlyDictionary<Guid, string>? TraceParents = null);

/// <summary>Stores a batch's outcome in the consumer's transaction.</summary>
public interface IAnswerRecorder
{
    Task RecordAsync(BatchOutcome outcome, CancellationToken cancellationToken);
}

/// <summary>
/// Writes a batch's answers in bulk (ON CONFLICT DO NOTHING), moves its images from queued to answered or failed, puts
/// one <see cref="AnswersProduced"/> per newly answered image into the outbox and recounts the job, under the job's
/// lock: of two workers answering the same image, only one announces it, and the last writer completes the job.
/// </summary>
public sealed class AnswerRecorder(InferenceDbContext db) : IAnswerRecorder
{
    public async Task RecordAsync(BatchOutcome outcome, CancellationToken cancellationToken)
    {
        var job = outcome.Job;
        var now = DateTimeOffset.UtcNow;
        await JobProgress.LockAsync(db, job.Id, cancellationToken);
        var rows = outcome.Answered.SelectMany(image => image.Value.SelectMany((question, index) =>
            question.Answers.Select((answer, rank) => new JobAnswer
            {
                JobId = job.Id, ImageId = image.Key, QuestionIndex = index, Question = question.Question, Rank = rank + 1,
                Answer = answer.Text, Score = answer.Score, ModelVersion = outcome.ModelVersion, CreatedAt = now,
            }))).ToList();
        await db.InsertAnswersAsync(rows, cancellationToken);

        var newlyAnswered = new List<Guid>();
        await using (var command = JobProgress.Command(db,
            """
            UPDATE job_images SET state = 'answered', updated_at = clock_timestamp()
            WHERE job_id = @job AND image_id = ANY(@images) AND state = 'queued'
            RETURNING image_id
            """))
        {
            command.Parameters.AddWithValue("job", job.Id);
            command.Parameters.AddWithValue("images", outcome.Answered.Keys.ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                newlyAnswered.Add(reader.GetGuid(0));
        }
        foreach (var (imageId, reason) in outcome.Failed)
            await db.JobImages
                .Where(i => i.JobId == job.Id && i.ImageId == imageId && i.State == JobImageState.Queued)
                .ExecuteUpdateAsync(set => set
                    .SetProperty(i => i.State, JobImageState.Failed)
                    .SetProperty(i => i.Reason, reason)
                    .SetProperty(i => i.UpdatedAt, now), cancellationToken);

        foreach (var imageId in newlyAnswered)
        {
            var image = outcome.Images[imageId];
            db.AddOutgoing(new AnswersProduced(job.Id, job.CollectionId, imageId, outcome.ModelVersion, outcome.Answered[imageId], now)
            {
                TeamId = job.TeamId, FileName = image.FileName, ObjectKey = image.ObjectKey,
            }, traceParent: outcome.TraceParents?.GetValueOrDefault(imageId));
        }
        await JobProgress.RecountAsync(db, job.Id, cancellationToken);
    }
}
