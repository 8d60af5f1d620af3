using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;

namespace VqaPipeline.Training;

/// <summary>
/// Records a requested run as queued (the ingestion API usually has already; a replayed or foreign request is recorded
/// here) and wakes the <see cref="TrainingWorker"/>. Training itself never runs inside a message handler: a run takes
/// hours, longer than a broker waits for an acknowledgement.
/// </summary>
public sealed class TrainingRequestedConsumer(
    IDbContextFactory<VqaDbContext> databases, TrainingRunner runner, TimeProvider clock) : IConsumer<TrainingRequested>
{
    public const string InboxName = $"{TrainingService.Name}.{nameof(TrainingRequestedConsumer)}";

    public async Task Consume(ConsumeContext<TrainingRequested> context)
    {
        var message = context.Message;
        var messageId = context.MessageId ?? throw new InvalidOperationException("a TrainingRequested without a message id");
        var cancellationToken = context.CancellationToken;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (!await db.TryMarkProcessedAsync(InboxName, messageId, cancellationToken))
            return;

        var now = clock.GetUtcNow();
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"""
             INSERT INTO training_runs (id, model_name, request, status, step, total_steps, created_at, updated_at)
             VALUES ({message.RunId}, {message.ModelName}, {JsonSerializer.Serialize(message, JsonSerializerOptions.Web)}::jsonb,
                     'queued', 0, 0, {now}, {now})
             ON CONFLICT (id) DO NOTHING
             """, cancellationToken);
        db.EventLog.Add(EventLogEntry.For(messageId, message,
            context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : now, message.Dataset.CollectionId));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        runner.Wake();
    }
}
