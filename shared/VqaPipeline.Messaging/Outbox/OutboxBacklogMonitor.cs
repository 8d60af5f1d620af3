using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VqaPipeline.Messaging.Outbox;

/// <summary>
/// Measures the outbox of <typeparamref name="TContext"/> every <see cref="OutboxOptions.MeasureInterval"/> for
/// <see cref="MessagingMetrics"/>: entries waiting to be dispatched and the age of the oldest, the lag an operator
/// alerts on when the broker or the dispatcher stalls. A failed measurement keeps the last one and is logged at debug.
/// </summary>
public sealed class OutboxBacklogMonitor<TContext>(
    IServiceScopeFactory scopes, MessagingMetrics metrics, IOptions<OutboxOptions> options, TimeProvider clock,
    ILogger<OutboxBacklogMonitor<TContext>> logger) : BackgroundService where TContext : MessagingDbContext
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // host start must not wait for the first measurement
        using var timer = new PeriodicTimer(options.Value.MeasureInterval);
        do
        {
            try
            {
                await MeasureAsync(stoppingToken);
            }
            catch (Exception error) when (error is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogDebug("Outbox backlog not measured: {Reason}", error.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private async Task MeasureAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var pending = db.EventLog.AsNoTracking()
            .Where(e => e.Direction == MessageDirection.Published && e.DispatchedAt == null && e.ParkedAt == null);
        var count = await pending.LongCountAsync(cancellationToken);
        var oldest = count == 0 ? null : await pending.MinAsync(e => (DateTimeOffset?)e.OccurredAt, cancellationToken);
        var age = oldest is { } time ? clock.GetUtcNow() - time : TimeSpan.Zero;
        metrics.OutboxMeasured(db.Schema, new OutboxBacklog(count, age < TimeSpan.Zero ? TimeSpan.Zero : age));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
