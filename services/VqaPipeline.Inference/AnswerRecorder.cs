using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;

namespace VqaPipeline.Inference;

/// <summary>What one batch produced for one job: answers per image, and images that could not be answered.</summary>
/// <param name="Job">The job.</param>
/// <param name="ModelVersion">The model version that answered.</param>
/// <param name="Answered">Each answered image with its answers, one entry per job question in the job's order.</param>
/// <param name="Failed">Each failed image with the reason.</param>
/// <param name="Consumed">The batch commands this comes from, with their message ids.</param>
public sealed record BatchOutcome(
    QuestionJob Job,
    string ModelVersion,
    IReadOnlyDictionary<Guid, IReadOnlyList<QuestionAnswers>> Answered,
    IReadOnlyDictionary<Guid, string> Failed,
    IReadOnlyList<(ImageBatchRequested Message, Guid MessageId)> Consumed);

/// <summary>Stores a batch's outcome; returns the messages to publish once it is committed.</summary>
public interface IAnswerRecorder
{
    Task<IReadOnlyList<(object Message, Guid MessageId)>> RecordAsync(BatchOutcome outcome, CancellationToken cancellationToken);
}

/// <summary>
/// Writes a batch's answers in bulk (ON CONFLICT DO NOTHING), moves its images from queued to answered or failed and
/// logs the consumed commands and one <see cref="AnswersProduced"/> per newly answered image, all in one transaction.
/// An image already answered (a redelivered command) gets no second message.
/// </summary>
public sealed class AnswerRecorder(VqaDbContext db) : IAnswerRecorder
{
    public const string InboxName = $"{InferenceService.Name}.{nameof(ImageBatchConsumer)}";

    public async Task<IReadOnlyList<(object Message, Guid MessageId)>> RecordAsync(BatchOutcome outcome, CancellationToken cancellationToken)
    {
        var job = outcome.Job;
        var now = DateTimeOffset.UtcNow;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        foreach (var (message, messageId) in outcome.Consumed)
            if (await db.TryMarkProcessedAsync(InboxName, messageId, cancellationToken))
                db.EventLog.Add(EventLogEntry.For(messageId, message, now, job.CollectionId, jobId: job.Id));

        var rows = outcome.Answered.SelectMany(image => image.Value.SelectMany((question, index) =>
            question.Answers.Select((answer, rank) => new JobAnswer
            {
                JobId = job.Id, ImageId = image.Key, QuestionIndex = index, Question = question.Question, Rank = rank + 1,
                Answer = answer.Text, Score = answer.Score, ModelVersion = outcome.ModelVersion, CreatedAt = now,
            }))).ToList();
        await db.InsertAnswersAsync(rows, cancellationToken);

        var answeredIds = outcome.Answered.Keys.ToList();
        // One conditional UPDATE: of two workers answering the same image, only one sees it queued and announces it.
        var newlyAnswered = new List<Guid>();
        await using (var command = JobProgress.Command(db,
            """
            UPDATE job_images SET state = 'answered', updated_at = now()
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

        var outgoing = new List<(object, Guid)>();
        foreach (var imageId in newlyAnswered)
        {
            var message = new AnswersProduced(job.Id, job.CollectionId, imageId, outcome.ModelVersion, outcome.Answered[imageId], now);
            outgoing.Add((message, db.AddOutgoing(message, job.CollectionId, imageId, job.Id)));
        }
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return outgoing;
    }
}
