using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Inference.Data;

namespace VqaPipeline.Inference;

/// <summary>
/// Sends again, through the outbox, the images of running jobs that have waited queued past
/// <see cref="InferenceOptions.StuckImageDeadline"/>: a batch command lost to a broker that dropped it, or parked and
/// purged by an operator, would otherwise keep its job running for ever. Each image sent again waits a whole deadline
/// before it can be sent once more; answering is idempotent per (job, image), so a batch that was only slow and
/// arrives after all is answered once. One instance sweeps at a time (an advisory lock), however many run.
/// </summary>
public sealed class StuckImageSweeper(
    IServiceScopeFactory scopes, IOptions<InferenceOptions> options, InferenceMetrics metrics, ILogger<StuckImageSweeper> logger)
    : BackgroundService
{
    /// <summary>The advisory lock key of the sweep (any constant no other lock of the schema uses).</summary>
    private const long SweepLock = 0x5157_6565_7065_72; // "QWeeper"

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception error) when (!stoppingToken.IsCancellationRequested)
            {
                // The database may be away; the next tick tries again.
                logger.LogWarning(error, "Sweep for stuck images failed");
            }
        }
    }

    /// <summary>One sweep; returns how many images it sent again.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<InferenceDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await using (var locked = JobProgress.Command(db, "SELECT pg_try_advisory_xact_lock(@key)"))
        {
            locked.Parameters.AddWithValue("key", SweepLock);
            if (await locked.ExecuteScalarAsync(cancellationToken) is not true)
                return 0;
        }
        var stuck = new List<(Guid JobId, Guid TeamId, Guid ImageId)>();
        await using (var command = JobProgress.Command(db,
            """
            UPDATE job_images ji SET updated_at = clock_timestamp()
            FROM question_jobs j
            WHERE j.id = ji.job_id AND j.status = 'running' AND ji.state = 'queued'
              AND ji.updated_at < clock_timestamp() - @deadline
            RETURNING ji.job_id, j.team_id, ji.image_id
            """))
        {
            command.Parameters.AddWithValue("deadline", settings.StuckImageDeadline);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                stuck.Add((reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2)));
        }
        foreach (var job in stuck.GroupBy(s => (s.JobId, s.TeamId)))
            foreach (var chunk in job.Select(s => s.ImageId).Chunk(Math.Max(1, settings.ImagesPerBatch)))
                db.AddOutgoing(new ImageBatchRequested(job.Key.JobId, chunk) { TeamId = job.Key.TeamId },
                    destinationQueue: settings.BatchQueueName);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (stuck.Count > 0)
        {
            metrics.RecordResent(stuck.Count);
            logger.LogWarning("Sent {Images} images of {Jobs} running jobs for answering again: queued for longer than {Deadline}",
                stuck.Count, stuck.Select(s => s.JobId).Distinct().Count(), settings.StuckImageDeadline);
        }
        return stuck.Count;
    }
}
