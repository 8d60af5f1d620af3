using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace VqaPipeline.Hosting.Monitoring;

/// <summary>
/// The depth of each queue this service consumes from, under the meter <c>VqaPipeline.Broker</c>: messages ready in
/// the queue and its consumers, by queue. The queues are the service's receive endpoints as they start; every
/// <see cref="MonitoringOptions.QueueDepthInterval"/> each is declared passively on RabbitMQ (which answers with its
/// counts and needs no management plugin). A failed measurement keeps the last one.
/// </summary>
public sealed class QueueDepthMonitor : BackgroundService, IReceiveEndpointObserver
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "VqaPipeline.Broker";

    private readonly ConcurrentDictionary<string, (uint Messages, uint Consumers)?> _queues = new();
    private readonly IOptions<BrokerOptions> _broker;
    private readonly IOptions<MonitoringOptions> _options;
    private readonly ILogger<QueueDepthMonitor> _logger;
    private readonly SemaphoreSlim _endpointStarted = new(0, 1);

    public QueueDepthMonitor(IMeterFactory meterFactory, IOptions<BrokerOptions> broker, IOptions<MonitoringOptions> options,
        ILogger<QueueDepthMonitor> logger)
    {
        (_broker, _options, _logger) = (broker, options, logger);
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("vqa.queue.depth", () => Measure(counts => counts.Messages), "{message}",
            "Messages ready in a queue this service consumes from, by queue.");
        meter.CreateObservableGauge("vqa.queue.consumers", () => Measure(counts => counts.Consumers), "{consumer}",
            "Consumers attached to a queue this service consumes from, by queue.");
    }

    /// <summary>Measures the bus's queues in the service: one instance, started with the host, observing the bus.</summary>
    internal static void Add(IServiceCollection services)
    {
        services.AddOptions<MonitoringOptions>().BindConfiguration(MonitoringOptions.Section);
        services.AddSingleton<QueueDepthMonitor>();
        services.AddHostedService(provider => provider.GetRequiredService<QueueDepthMonitor>());
        services.AddReceiveEndpointObserver(provider => provider.GetRequiredService<QueueDepthMonitor>());
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var interval = _options.Value.QueueDepthInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (!_queues.IsEmpty)
                await MeasureAsync(stoppingToken);
            try
            {
                // A newly started endpoint is measured at once; the rest on the interval.
                await _endpointStarted.WaitAsync(interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task MeasureAsync(CancellationToken cancellationToken)
    {
        try
        {
            var factory = new ConnectionFactory { Uri = _broker.Value.Url, ClientProvidedName = "vqa queue depth" };
            await using var connection = await factory.CreateConnectionAsync(cancellationToken);
            foreach (var queue in _queues.Keys)
            {
                // A passive declare of a missing queue closes its channel: one channel per queue.
                await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
                try
                {
                    var declared = await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
                    _queues[queue] = (declared.MessageCount, declared.ConsumerCount);
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    _logger.LogDebug("Queue {Queue} not measured: {Reason}", queue, error.Message);
                }
            }
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            _logger.LogDebug("Queue depths not measured: {Reason}", error.Message);
        }
    }

    private IEnumerable<Measurement<long>> Measure(Func<(uint Messages, uint Consumers), uint> value) =>
        _queues.Where(pair => pair.Value is not null)
            .Select(pair => new Measurement<long>(value(pair.Value!.Value), new KeyValuePair<string, object?>("queue", pair.Key)));

    public Task Ready(ReceiveEndpointReady ready)
    {
        var queue = ready.InputAddress.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        // Temporary endpoints (the bus's own response queue) come and go: only named queues are measured.
        if (queue is not null && !ready.InputAddress.Query.Contains("temporary", StringComparison.OrdinalIgnoreCase)
            && _queues.TryAdd(queue, null))
        {
            try
            {
                _endpointStarted.Release();
            }
            catch (SemaphoreFullException)
            {
                // Endpoints starting together: one wake-up measures them all.
            }
        }
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;
}

/// <summary>Settings of what the service measures for its metrics (configuration section <c>Monitoring</c>).</summary>
public sealed record MonitoringOptions
{
    public const string Section = "Monitoring";

    /// <summary>How often the depth of the service's queues is asked of the broker.</summary>
    public TimeSpan QueueDepthInterval { get; set; } = TimeSpan.FromSeconds(15);
}
