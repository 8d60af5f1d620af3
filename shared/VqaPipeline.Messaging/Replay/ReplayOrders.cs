using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace VqaPipeline.Messaging.Replay;

/// <summary>Asks the service that published <see cref="Type"/> to replay from its event log (see <see cref="ReplayFilter"/>).</summary>
public sealed record ReplayOrder(string Type, DateTimeOffset? From, DateTimeOffset? To, Guid? CollectionId, Guid? JobId, bool DryRun);

/// <summary>How many logged messages matched, and how many were republished (none for a dry run).</summary>
public sealed record ReplayResult(int Matched, int Republished);

/// <summary>
/// Every service answers replay requests for the messages it published, on a queue of its own
/// (<c>replay-{service}</c>): only it can read its event log.
/// </summary>
public sealed class ReplayResponder(ReplaySource source, ILogger<ReplayResponder> logger) : IConsumer<ReplayOrder>
{
    public async Task Consume(ConsumeContext<ReplayOrder> context)
    {
        var request = context.Message;
        var filter = new ReplayFilter(request.Type, request.From, request.To, request.CollectionId, request.JobId);
        var replayer = new EventLogReplayer(source.ConnectionString);
        var matched = await replayer.CountAsync(filter, context.CancellationToken);
        var republished = request.DryRun ? 0 : await replayer.ReplayAsync(filter, context, context.CancellationToken);
        logger.LogInformation("Replay of {Type}: {Matched} matched, {Republished} republished", request.Type, matched, republished);
        await context.RespondAsync(new ReplayResult(matched, republished));
    }

    /// <summary>The queue the replay requests of <paramref name="service"/> go to.</summary>
    public static string QueueOf(string service) => $"replay-{service}";
}

/// <summary>The event log a service replays from: its own database, its own schema.</summary>
public sealed record ReplaySource(string ConnectionString);

/// <summary>Sends a replay to the service that published the type and waits for its answer.</summary>
public sealed class ReplayClient(IBus bus, IConfiguration configuration)
{
    /// <summary>How long the publishing service may take to answer (replays of long ranges take a while).</summary>
    public TimeSpan Timeout => configuration.GetValue<TimeSpan?>("Replay:Timeout") ?? TimeSpan.FromMinutes(5);

    /// <summary>The result, or <c>null</c> with the reason when the publishing service did not answer in time.</summary>
    public async Task<(ReplayResult? Result, string? Unavailable)> ReplayAsync(ReplayFilter filter, bool dryRun, CancellationToken cancellationToken)
    {
        var client = bus.CreateRequestClient<ReplayOrder>(new Uri($"queue:{ReplayResponder.QueueOf(filter.Publisher)}"), Timeout);
        try
        {
            var response = await client.GetResponse<ReplayResult>(
                new ReplayOrder(filter.MessageType, filter.From, filter.To, filter.CollectionId, filter.JobId, dryRun), cancellationToken);
            return (response.Message, null);
        }
        catch (RequestTimeoutException)
        {
            return (null, $"the {filter.Publisher} service, which published {filter.MessageType}, did not answer within {Timeout.TotalSeconds:0} s");
        }
    }
}
