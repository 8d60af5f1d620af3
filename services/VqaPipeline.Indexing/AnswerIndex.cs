using Microsoft.EntityFrameworkCore;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Indexing.Data;

namespace VqaPipeline.Indexing;

/// <summary>
/// Writes answers into the retrieval index in bulk, one statement per table. Rows are upserted on their natural key
/// (image, normalized question, model version, rank), the newest production winning, so the same answers indexed any
/// number of times, in any order, leave the same index. A row keeps the team it was first indexed under: an image
/// never changes team.
/// </summary>
internal static class AnswerIndex
{
    private sealed record Row(
        Guid TeamId, Guid CollectionId, Guid ImageId, string? FileName, string? ObjectKey, string Question, string QuestionAsked,
        string Answer, string NormalizedAnswer, int Rank, double Score, string ModelVersion, Guid JobId, DateTimeOffset ProducedAt);

    /// <summary>Upserts the answers of <paramref name="messages"/> in the context's current transaction.</summary>
    public static async Task UpsertAsync(IndexingDbContext db, IReadOnlyList<AnswersProduced> messages, CancellationToken cancellationToken)
    {
        var rows = RowsOf(messages)
            .GroupBy(row => (row.ImageId, row.Question, row.ModelVersion, row.Rank))
            .Select(same => same.MaxBy(row => row.ProducedAt)!)
            // One order for every writer, so concurrent batches lock shared keys in the same order (no deadlock).
            .OrderBy(row => row.ImageId).ThenBy(row => row.Question, StringComparer.Ordinal)
            .ThenBy(row => row.ModelVersion, StringComparer.Ordinal).ThenBy(row => row.Rank)
            .ToList();
        await db.Database.ExecuteSqlRawAsync(
            """
            INSERT INTO indexed_answers (team_id, collection_id, image_id, file_name, object_key, question, question_asked, answer,
                                         normalized_answer, rank, score, model_version, job_id, produced_at)
            SELECT * FROM unnest(@teams, @collections, @images, @fileNames, @objectKeys, @questions, @asked, @answers, @normalized,
                                 @ranks, @scores, @versions, @jobs, @produced)
            ON CONFLICT (image_id, question, model_version, rank) DO UPDATE SET
                collection_id = excluded.collection_id, question_asked = excluded.question_asked,
                -- Older messages carry no name or key: what an earlier one brought stays.
                file_name = coalesce(excluded.file_name, indexed_answers.file_name),
                object_key = coalesce(excluded.object_key, indexed_answers.object_key),
                answer = excluded.answer, normalized_answer = excluded.normalized_answer, score = excluded.score,
                job_id = excluded.job_id, produced_at = excluded.produced_at
            WHERE indexed_answers.produced_at <= excluded.produced_at
            """,
            [
                Array("teams", rows, r => r.TeamId), Array("collections", rows, r => r.CollectionId),
                Array("images", rows, r => r.ImageId),
                Array("fileNames", rows, r => r.FileName), Array("objectKeys", rows, r => r.ObjectKey),
                Array("questions", rows, r => r.Question), Array("asked", rows, r => r.QuestionAsked),
                Array("answers", rows, r => r.Answer), Array("normalized", rows, r => r.NormalizedAnswer),
                Array("ranks", rows, r => r.Rank), Array("scores", rows, r => r.Score),
                Array("versions", rows, r => r.ModelVersion), Array("jobs", rows, r => r.JobId),
                Array("produced", rows, r => r.ProducedAt.ToUniversalTime()),
            ],
            cancellationToken);

        var questions = messages
            .SelectMany(m => m.Questions.Select(q => (m.CollectionId, Question: QuestionText.Normalize(q.Question),
                m.ModelVersion, Asked: q.Question, m.ProducedAt)))
            .GroupBy(q => (q.CollectionId, q.Question, q.ModelVersion))
            .Select(same => same.MaxBy(q => q.ProducedAt))
            .OrderBy(q => q.CollectionId).ThenBy(q => q.Question, StringComparer.Ordinal)
            .ThenBy(q => q.ModelVersion, StringComparer.Ordinal)
            .ToList();
        await db.Database.ExecuteSqlRawAsync(
            """
            INSERT INTO indexed_questions (collection_id, question, model_version, question_asked, last_produced_at)
            SELECT * FROM unnest(@collections, @questions, @versions, @asked, @produced)
            ON CONFLICT (collection_id, question, model_version) DO UPDATE SET
                question_asked = excluded.question_asked, last_produced_at = excluded.last_produced_at
            WHERE indexed_questions.last_produced_at < excluded.last_produced_at
            """,
            [
                Array("collections", questions, q => q.CollectionId), Array("questions", questions, q => q.Question),
                Array("versions", questions, q => q.ModelVersion), Array("asked", questions, q => q.Asked),
                Array("produced", questions, q => q.ProducedAt.ToUniversalTime()),
            ],
            cancellationToken);
    }

    private static IEnumerable<Row> RowsOf(IEnumerable<AnswersProduced> messages) =>
        from message in messages
        from question in message.Questions
        let normalizedQuestion = QuestionText.Normalize(question.Question)
        from ranked in question.Answers.Select((answer, index) => (answer, rank: index + 1))
        select new Row(message.TeamId, message.CollectionId, message.ImageId, message.FileName, message.ObjectKey, normalizedQuestion,
            question.Question, ranked.answer.Text, QuestionText.Normalize(ranked.answer.Text), ranked.rank, ranked.answer.Score,
            message.ModelVersion, message.JobId, message.ProducedAt);

    private static NpgsqlParameter Array<TRow, TValue>(string name, IReadOnlyCollection<TRow> rows, Func<TRow, TValue> value) =>
        new NpgsqlParameter<TValue[]>(name, rows.Select(value).ToArray());
}
