using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Messaging.Inbox;
using VqaPipeline.Training.Data;
using VqaPipeline.Messaging.Redelivery;

namespace VqaPipeline.Training;

/// <summary>
/// Records a requested run as queued (the training API usually has already; a replayed request, or one from another
/// instance's API, is recorded here) and wakes the <see cref="TrainingWorker"/>s. Training itself never runs inside a
/// message handler: a run takes hours, longer than a broker waits for an acknowledgement.
/// </summary>
public sealed class TrainingRequestedConsumer(TrainingDbContext db, TrainingRunner runner, InboxTransaction transaction, TimeProvider clock)
    : IConsumer<TrainingRequested>
{
    public async Task Consume(ConsumeContext<TrainingRequested> context)
    {
        var message = context.Message;
        var now = clock.GetUtcNow();
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"""
             INSERT INTO training_runs (id, team_id, model_name, request, dataset_prefix, status, step, total_steps, created_at, updated_at)
             VALUES ({message.RunId}, {message.TeamId}, {message.ModelName}, {JsonSerializer.Serialize(message, JsonSerializerOptions.Web)}::jsonb,
                     {message.Dataset.ObjectPrefix}, 'queued', 0, 0, {now}, {now})
             ON CONFLICT (id) DO NOTHING
             """, context.CancellationToken);
        transaction.AfterCommit(_ =>
        {
            runner.Wake();
            return Task.CompletedTask;
        });
    }
}

/// <summary>
/// What the ingestion service made of a run's collection: the dataset it wrote (the run can be taken), or why there is
/// none (the run fails with that reason). A run that has moved on is left alone.
/// </summary>
public sealed class TrainingDatasetOutcomeConsumer(TrainingDbContext db, TrainingRunner runner, InboxTransaction transaction, TimeProvider clock)
    : IConsumer<TrainingDatasetPrepared>, IConsumer<TrainingDatasetRejected>
{
    public async Task Consume(ConsumeContext<TrainingDatasetPrepared> context)
    {
        var message = context.Message;
        var now = clock.GetUtcNow();
        await db.TrainingRuns.Where(r => r.Id == message.RunId && r.Status == TrainingRunStatus.Queued)
            .ExecuteUpdateAsync(set => set.SetProperty(r => r.DatasetPrefix, message.ObjectPrefix).SetProperty(r => r.UpdatedAt, now),
                context.CancellationToken);
        transaction.AfterCommit(_ =>
        {
            runner.Wake();
            return Task.CompletedTask;
        });
    }

    public Task Consume(ConsumeContext<TrainingDatasetRejected> context) =>
        FailQueuedRunAsync(db, context.Message.RunId, context.Message.TeamId, context.Message.Reason, clock.GetUtcNow(),
            context.CancellationToken);

    /// <summary>
    /// Fails the run while it is still queued, with <paramref name="reason"/>, and announces it with
    /// <see cref="TrainingFailed"/> (in the caller's transaction); a run that has moved on is left alone.
    /// </summary>
    public static async Task FailQueuedRunAsync(TrainingDbContext db, Guid runId, Guid teamId, string reason, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var failed = await db.TrainingRuns.Where(r => r.Id == runId && r.Status == TrainingRunStatus.Queued)
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.Status, TrainingRunStatus.Failed)
                .SetProperty(r => r.Error, reason)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken);
        if (failed == 1)
            db.AddOutgoing(new TrainingFailed(runId, reason) { TeamId = teamId });
    }
}

/// <summary>
/// A run whose request or dataset was given up on (parked past the delivery limit, or failing for a reason no wait
/// cures) fails with that reason instead of staying queued for ever.
/// </summary>
public sealed class ParkedTrainingRuns(TrainingDbContext db, TimeProvider clock)
    : IParkedMessageHandler<TrainingRequested>, IParkedMessageHandler<TrainingDatasetPrepared>
{
    public Task ParkedAsync(TrainingRequested message, string reason, CancellationToken cancellationToken) =>
        TrainingDatasetOutcomeConsumer.FailQueuedRunAsync(db, message.RunId, message.TeamId, $"the run could not be recorded: {reason}",
            clock.GetUtcNow(), cancellationToken);

    public Task ParkedAsync(TrainingDatasetPrepared message, string reason, CancellationToken cancellationToken) =>
        TrainingDatasetOutcomeConsumer.FailQueuedRunAsync(db, message.RunId, message.TeamId, $"its dataset could not be taken: {reason}",
            clock.GetUtcNow(), cancellationToken);
}
