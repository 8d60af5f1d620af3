using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Training.Data;

namespace VqaPipeline.Training;

/// <summary>
/// Takes queued runs whose dataset is there from the database one at a time, and runs whose worker stopped saying it
/// is alive (killed, lost its machine): those resume from their last checkpoint. <c>FOR UPDATE SKIP LOCKED</c> lets workers compete for runs
/// without two taking the same one.
/// </summary>
public sealed class TrainingWorker(
    IDbContextFactory<TrainingDbContext> databases, TrainingRunner runner, IOptions<TrainingOptions> options,
    TimeProvider clock, ILogger<TrainingWorker> logger) : BackgroundService
{
    /// <summary>Who this worker is in <see cref="TrainingRun.Worker"/>.</summary>
    public static readonly string Identity = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Guid? runId = null;
            try
            {
                runId = await ClaimAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogWarning(exception, "Cannot look for training runs; retrying");
            }

            if (runId is { } claimed)
                await runner.RunAsync(claimed, stoppingToken);
            else
                await runner.WaitForWorkAsync(options.Value.PollInterval, stoppingToken);
        }
    }

    private async Task<Guid?> ClaimAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var stale = now - options.Value.HeartbeatTimeout;
        var claimed = await db.Database.SqlQuery<Guid>(
            $"""
             UPDATE training_runs SET status = 'running', worker = {Identity}, heartbeat_at = {now}, updated_at = {now}
             WHERE id = (SELECT id FROM training_runs
                         WHERE (status = 'queued' AND dataset_prefix IS NOT NULL)
                            OR (status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < {stale}))
                         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id AS "Value"
             """).ToListAsync(cancellationToken);
        return claimed.Count == 0 ? null : claimed[0];
    }
}
