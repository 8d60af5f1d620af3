using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Messaging.Inbox;
using VqaPipeline.Training.Data;

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

    public async Task Consume(ConsumeContext<TrainingDatasetRejected> context)
    {
        var message = context.Message;
        var now = clock.GetUtcNow();
        var failed = await db.TrainingRuns.Where(r => r.Id == message.RunId && r.Status == TrainingRunStatus.Queued)
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.Status, TrainingRunStatus.Failed)
                .SetProperty(r => r.Error, message.Reason)
                .SetProperty(r => r.UpdatedAt, now), context.CancellationToken);
        if (failed == 1)
            db.AddOutgoing(new TrainingFailed(message.RunId, message.Reason) { TeamId = message.TeamId });
    }
}
