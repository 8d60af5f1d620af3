using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace VqaPipeline.Inference.Data;

/// <summary>Bulk, idempotent writes of job answers.</summary>
public static class JobAnswerStore
{
    /// <summary>
    /// Inserts <paramref name="answers"/> in one statement (columns sent as arrays and unnested by PostgreSQL); a row
    /// whose (job, image, question, rank) is already stored is left as it is, so writing the same answers again
    /// changes nothing. Runs in the context's current transaction, if any. Returns the number of rows inserted.
    /// </summary>
    public static Task<int> InsertAnswersAsync(
        this InferenceDbContext context, IReadOnlyCollection<JobAnswer> answers, CancellationToken cancellationToken = default)
    {
        if (answers.Count == 0)
            return Task.FromResult(0);
        NpgsqlParameter Column<T>(string name, NpgsqlDbType type, Func<JobAnswer, T> value) =>
            new(name, NpgsqlDbType.Array | type) { Value = answers.Select(value).ToArray() };

        return context.Database.ExecuteSqlRawAsync(
            """
            INSERT INTO job_answers (job_id, image_id, question_index, question, rank, answer, score, model_version, created_at)
            SELECT * FROM unnest(@job_ids, @image_ids, @question_indexes, @questions, @ranks, @answers, @scores,
                                 @model_versions, @created_at)
            ON CONFLICT (job_id, image_id, question_index, rank) DO NOTHING
            """,
            [
                Column("job_ids", NpgsqlDbType.Uuid, a => a.JobId),
                Column("image_ids", NpgsqlDbType.Uuid, a => a.ImageId),
                Column("question_indexes", NpgsqlDbType.Integer, a => a.QuestionIndex),
                Column("questions", NpgsqlDbType.Text, a => a.Question),
                Column("ranks", NpgsqlDbType.Integer, a => a.Rank),
                Column("answers", NpgsqlDbType.Text, a => a.Answer),
                Column("scores", NpgsqlDbType.Double, a => a.Score),
                Column("model_versions", NpgsqlDbType.Varchar, a => a.ModelVersion),
                Column("created_at", NpgsqlDbType.TimestampTz, a => a.CreatedAt.UtcDateTime),
            ],
            cancellationToken);
    }
}
