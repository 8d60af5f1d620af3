using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Inference.Data;

namespace VqaPipeline.Inference;

/// <summary>
/// The job bookkeeping every consumer and the API share: claiming a collection's images for a job (each image exactly
/// once, by the (job, image) key), splitting the claimed ones into batch commands, counting, and ending jobs — each end
/// announced once with <see cref="QuestionJobEnded"/>. Everything runs in the caller's transaction (a consumer's is the
/// inbox filter's), so the bookkeeping commits, or not, with the work it counts.
/// </summary>
public sealed class JobProgress(IOptions<InferenceOptions> options)
{
    /// <summary>
    /// Adds to the job every image of its collection and its team that is ready or rejected and not yet in it (or only
    /// <paramref name="imageId"/>): ready ones are queued, rejected ones fail with their reason; then recounts the job
    /// (which completes it when nothing is left to answer). The batch commands for the newly queued images go into the
    /// outbox. Returns how many there are.
    /// </summary>
    public async Task<int> ClaimAsync(InferenceDbContext db, QuestionJob job, Guid? imageId, CancellationToken cancellationToken)
    {
        await LockAsync(db, job.Id, cancellationToken);
        var queued = new List<Guid>();
        await using (var command = Command(db,
            """
            INSERT INTO job_images (job_id, image_id, state, reason, updated_at)
            SELECT @job, i.id, CASE i.status WHEN 'ready' THEN 'queued' ELSE 'failed' END,
                   CASE i.status WHEN 'ready' THEN NULL ELSE coalesce(i.rejection_reason, 'rejected by preprocessing') END, clock_timestamp()
            FROM images i
            WHERE i.collection_id = @collection AND i.team_id = @team AND i.status IN ('ready', 'rejected')
              AND (@image::uuid IS NULL OR i.id = @image)
            ORDER BY i.created_at, i.id
            ON CONFLICT (job_id, image_id) DO NOTHING
            RETURNING image_id, state
            """))
        {
            command.Parameters.AddWithValue("job", job.Id);
            command.Parameters.AddWithValue("collection", job.CollectionId);
            command.Parameters.AddWithValue("team", job.TeamId);
            command.Parameters.Add(new NpgsqlParameter("image", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)imageId ?? DBNull.Value });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                if (reader.GetString(1) == "queued")
                    queued.Add(reader.GetGuid(0));
        }

        var batches = 0;
        foreach (var chunk in queued.Chunk(Math.Max(1, options.Value.ImagesPerBatch)))
        {
            db.AddOutgoing(new ImageBatchRequested(job.Id, chunk) { TeamId = job.TeamId }, destinationQueue: options.Value.BatchQueueName);
            batches++;
        }
        await RecountAsync(db, job.Id, cancellationToken);
        return batches;
    }

    /// <summary>
    /// Takes the job's row lock until the current transaction ends. Every transaction that changes a job's images takes
    /// it before writing them, so writers of one job take turns and the last one's recount (<see cref="RecountAsync"/>)
    /// sees every other writer's committed rows, in the same commit.
    /// </summary>
    public static async Task LockAsync(InferenceDbContext db, Guid jobId, CancellationToken cancellationToken)
    {
        await using var command = Command(db, "SELECT 1 FROM question_jobs WHERE id = @job FOR UPDATE");
        command.Parameters.AddWithValue("job", jobId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Recounts the locked job from its image rows and completes it once every image of its collection is answered or
    /// failed (and this service knows of at least as many images as the collection held when the job was accepted):
    /// in the current transaction, after <see cref="LockAsync"/>.
    /// </summary>
    public static async Task RecountAsync(InferenceDbContext db, Guid jobId, CancellationToken cancellationToken)
    {
        // clock_timestamp(), not now(): a consume's transaction spans the engine run, and now() is when it began.
        await using (var recount = Command(db,
            """
            UPDATE question_jobs j SET
                total = greatest(j.expected_images, (SELECT count(*) FROM images i WHERE i.collection_id = j.collection_id)),
                done = (SELECT count(*) FROM job_images ji WHERE ji.job_id = j.id AND ji.state = 'answered'),
                failed = (SELECT count(*) FROM job_images ji WHERE ji.job_id = j.id AND ji.state = 'failed'),
                updated_at = clock_timestamp()
            WHERE j.id = @job AND j.status IN ('pending', 'running')
            """))
        {
            recount.Parameters.AddWithValue("job", jobId);
            await recount.ExecuteNonQueryAsync(cancellationToken);
        }
        bool completed;
        await using (var command = Command(db,
            """
            UPDATE question_jobs j SET status = 'completed', finished_at = clock_timestamp(), updated_at = clock_timestamp()
            WHERE j.id = @job AND j.status = 'running'
              AND (SELECT count(*) FROM images i WHERE i.collection_id = j.collection_id) >= j.expected_images
              AND NOT EXISTS (
                SELECT 1 FROM images i WHERE i.collection_id = j.collection_id AND NOT EXISTS (
                    SELECT 1 FROM job_images ji WHERE ji.job_id = j.id AND ji.image_id = i.id AND ji.state <> 'queued'))
            RETURNING j.id
            """))
        {
            command.Parameters.AddWithValue("job", jobId);
            completed = await command.ExecuteScalarAsync(cancellationToken) is Guid;
        }
        if (completed)
            await AnnounceEndAsync(db, jobId, cancellationToken);
    }

    /// <summary>
    /// Fails an active job as a whole, with a reason a person can act on, in the context's current transaction (the
    /// caller saves); returns whether this call ended it.
    /// </summary>
    public static Task<bool> FailAsync(InferenceDbContext db, Guid jobId, string reason, CancellationToken cancellationToken) =>
        EndAsync(db, jobId, JobStatus.Failed, reason, cancellationToken);

    /// <summary>Ends an active job as <paramref name="status"/>; a job that already ended is left as it is.</summary>
    public static async Task<bool> EndAsync(
        InferenceDbContext db, Guid jobId, JobStatus status, string? reason, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        // One conditional update: of a worker completing a job and a client cancelling it at once, only one ends it.
        var ended = await db.QuestionJobs
            .Where(j => j.Id == jobId && (j.Status == JobStatus.Pending || j.Status == JobStatus.Running))
            .ExecuteUpdateAsync(set => set
                .SetProperty(j => j.Status, status)
                .SetProperty(j => j.FailureReason, reason)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.UpdatedAt, now), cancellationToken) == 1;
        if (ended)
            await AnnounceEndAsync(db, jobId, cancellationToken);
        return ended;
    }

    /// <summary>Puts <see cref="QuestionJobEnded"/> for the job, as it now stands, into the outbox.</summary>
    private static async Task AnnounceEndAsync(InferenceDbContext db, Guid jobId, CancellationToken cancellationToken)
    {
        var job = await db.QuestionJobs.AsNoTracking().SingleAsync(j => j.Id == jobId, cancellationToken);
        var answered = await db.JobImages.CountAsync(i => i.JobId == jobId && i.State == JobImageState.Answered, cancellationToken);
        db.AddOutgoing(new QuestionJobEnded(job.Id, job.CollectionId, job.Status.Text(), job.ModelVersion ?? job.Model, answered,
            job.FailureReason, job.FinishedAt ?? DateTimeOffset.UtcNow) { TeamId = job.TeamId });
    }

    /// <summary>A command on the context's connection, in its current transaction.</summary>
    public static NpgsqlCommand Command(InferenceDbContext db, string sql)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction();
        return new NpgsqlCommand(sql, connection, transaction);
    }
}
