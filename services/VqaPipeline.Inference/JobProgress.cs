using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;

namespace VqaPipeline.Inference;

/// <summary>
/// The job bookkeeping every consumer shares: claiming a collection's images for a job (each image exactly once, by
/// the (job, image) key), splitting the claimed ones into batch commands, counting, completing and failing jobs.
/// </summary>
public sealed class JobProgress(IOptions<InferenceOptions> options)
{
    /// <summary>Statuses in which a job still takes work.</summary>
    public static readonly JobStatus[] Active = [JobStatus.Pending, JobStatus.Running];

    /// <summary>
    /// Adds to the job every image of its collection that is ready or rejected and not yet in it (or only
    /// <paramref name="imageId"/>): ready ones are queued, rejected ones fail with their reason. Runs in the current
    /// transaction; returns the batch commands for the newly queued images, with their log entries added.
    /// </summary>
    public async Task<List<(object Message, Guid MessageId)>> ClaimAsync(
        VqaDbContext db, QuestionJob job, Guid? imageId, CancellationToken cancellationToken)
    {
        var queued = new List<Guid>();
        await using (var command = Command(db,
            """
            INSERT INTO job_images (job_id, image_id, state, reason, updated_at)
            SELECT @job, i.id, CASE i.status WHEN 'ready' THEN 'queued' ELSE 'failed' END,
                   CASE i.status WHEN 'ready' THEN NULL ELSE coalesce(i.rejection_reason, 'rejected by preprocessing') END, now()
            FROM images i
            WHERE i.collection_id = @collection AND i.status IN ('ready', 'rejected') AND (@image::uuid IS NULL OR i.id = @image)
            ORDER BY i.created_at, i.id
            ON CONFLICT (job_id, image_id) DO NOTHING
            RETURNING image_id, state
            """))
        {
            command.Parameters.AddWithValue("job", job.Id);
            command.Parameters.AddWithValue("collection", job.CollectionId);
            command.Parameters.Add(new NpgsqlParameter("image", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)imageId ?? DBNull.Value });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                if (reader.GetString(1) == "queued")
                    queued.Add(reader.GetGuid(0));
        }

        var commands = new List<(object, Guid)>();
        foreach (var chunk in queued.Chunk(Math.Max(1, options.Value.ImagesPerBatch)))
        {
            var message = new ImageBatchRequested(job.Id, chunk);
            commands.Add((message, db.AddOutgoing(message, job.CollectionId, jobId: job.Id, destinationQueue: options.Value.BatchQueueName)));
        }
        return commands;
    }

    /// <summary>
    /// Recounts the job from its image rows and completes it once every image of its collection is answered or
    /// failed. Call it after committing: the last writer then always sees every other writer's rows.
    /// </summary>
    public static async Task UpdateAsync(VqaDbContext db, Guid jobId, CancellationToken cancellationToken)
    {
        await using var command = Command(db,
            """
            UPDATE question_jobs j SET
                total = (SELECT count(*) FROM images i WHERE i.collection_id = j.collection_id),
                done = (SELECT count(*) FROM job_images ji WHERE ji.job_id = j.id AND ji.state = 'answered'),
                failed = (SELECT count(*) FROM job_images ji WHERE ji.job_id = j.id AND ji.state = 'failed'),
                updated_at = now()
            WHERE j.id = @job AND j.status IN ('pending', 'running');
            UPDATE question_jobs j SET status = 'completed', finished_at = now(), updated_at = now()
            WHERE j.id = @job AND j.status = 'running' AND NOT EXISTS (
                SELECT 1 FROM images i WHERE i.collection_id = j.collection_id AND NOT EXISTS (
                    SELECT 1 FROM job_images ji WHERE ji.job_id = j.id AND ji.image_id = i.id AND ji.state <> 'queued'));
            """);
        command.Parameters.AddWithValue("job", jobId);
        await db.Database.OpenConnectionAsync(cancellationToken);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Fails an active job as a whole, with a reason a person can act on.</summary>
    public static Task FailAsync(VqaDbContext db, Guid jobId, string reason, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        return db.QuestionJobs
            .Where(j => j.Id == jobId && (j.Status == JobStatus.Pending || j.Status == JobStatus.Running))
            .ExecuteUpdateAsync(set => set
                .SetProperty(j => j.Status, JobStatus.Failed)
                .SetProperty(j => j.FailureReason, reason)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.UpdatedAt, now), cancellationToken);
    }

    /// <summary>A command on the context's connection, in its current transaction.</summary>
    public static NpgsqlCommand Command(VqaDbContext db, string sql)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction();
        return new NpgsqlCommand(sql, connection, transaction);
    }
}
