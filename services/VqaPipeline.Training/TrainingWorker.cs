using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Messaging;
using VqaPipeline.Training.Data;

namespace VqaPipeline.Training;

/// <summary>
/// Takes queued runs whose dataset is there from the database one at a time, and runs whose worker stopped saying it
/// is alive (killed, lost its machine): those resume from their last checkpoint. Every claim counts an attempt; a run
/// that used <see cref="TrainingOptions.MaxAttempts"/> fails with its last attempt's reason, so it cannot block the
/// runs behind it. <c>FOR UPDATE SKIP LOCKED</c> lets workers compete for runs
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
            ClaimedRun? run = null;
            try
            {
                run = await ClaimAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogWarning(exception, "Cannot look for training runs; retrying");
            }

            if (run is not null)
                await runner.RunAsync(run, stoppingToken);
            else
                await runner.WaitForWorkAsync(options.Value.PollInterval, stoppingToken);
        }
    }

    /// <summary>
    /// Fails the runs whose worker went silent on their last allowed attempt, then takes the oldest run that is queued
    /// with its dataset or whose worker went silent, counting an attempt.
    /// </summary>
    private async Task<ClaimedRun?> ClaimAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var stale = now - options.Value.HeartbeatTimeout;
        var maxAttempts = options.Value.MaxAttempts;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            var abandoned = await db.Database.SqlQuery<AbandonedRun>(
                $"""
                 UPDATE training_runs SET status = 'failed', worker = NULL, updated_at = {now}, claim_token = claim_token + 1,
                     error = 'gave up after ' || attempts || ' attempts: ' || {StalledReason}
                 WHERE id IN (SELECT id FROM training_runs
                              WHERE status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < {stale}) AND attempts >= {maxAttempts}
                              FOR UPDATE SKIP LOCKED)
                 RETURNING id AS "Id", team_id AS "TeamId", error AS "Reason"
                 """).ToListAsync(cancellationToken);
            foreach (var run in abandoned)
            {
                logger.LogWarning("Training run {RunId} failed: {Reason}", run.Id, run.Reason);
                db.AddOutgoing(new TrainingFailed(run.Id, run.Reason) { TeamId = run.TeamId });
            }
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        var claimed = await db.Database.SqlQuery<ClaimedRun>(
            $"""
             UPDATE training_runs SET status = 'running', worker = {Identity}, heartbeat_at = {now}, updated_at = {now},
                 attempts = attempts + 1, claim_token = claim_token + 1,
                 error = CASE WHEN status = 'running' THEN {StalledReason} ELSE error END
             WHERE id = (SELECT id FROM training_runs
                         WHERE ((status = 'queued' AND dataset_prefix IS NOT NULL)
                                OR (status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < {stale})))
                           AND attempts < {maxAttempts}
                         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id AS "Id", attempts AS "Attempt", claim_token AS "Token", team_id AS "TeamId"
             """).ToListAsync(cancellationToken);
        return claimed.Count == 0 ? null : claimed[0];
    }

    /// <summary>Why an attempt ended when its worker went silent (killed, out of memory, lost its machine).</summary>
    public const string StalledReason = "the worker stopped heartbeating";

    private sealed record AbandonedRun(Guid Id, Guid TeamId, string Reason);
}

/// <summary>
/// A run this worker took: its id, which attempt this is (1 for the first), the fencing token of this claim, and the
/// team it belongs to (its messages carry it). Every write of the run is conditional on the token, so a worker whose
/// run was taken over or cancelled writes nothing.
/// </summary>
public sealed record ClaimedRun(Guid Id, int Attempt, long Token, Guid TeamId);
