using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace VqaPipeline.Messaging;

/// <summary>
/// Messaging's instruments, under the meter <c>VqaPipeline.Messaging</c> (exported on <c>/metrics</c>): messages given up
/// on (what the outbox parked, what consumers parked out of their batches; each is in the event log with its reason),
/// consumes that failed (by queue and exception type), and the outbox's lag and backlog per service.
/// </summary>
public sealed class MessagingMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "VqaPipeline.Messaging";

    private readonly Counter<long> _outboxParked;
    private readonly Counter<long> _consumedParked;
    private readonly Counter<long> _consumeFailures;
    private readonly Counter<long> _redelivered;
    private readonly ConcurrentDictionary<string, OutboxBacklog> _outboxes = new();

    /// <summary>Creates the instruments with <paramref name="meterFactory"/>.</summary>
    public MessagingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _outboxParked = meter.CreateCounter<long>("vqa.outbox.parked", "{message}",
            "Outbox entries parked after failing to publish too often, by message type.");
        _consumedParked = meter.CreateCounter<long>("vqa.consumer.parked", "{message}",
            "Received messages a consumer could not handle and parked while handling the rest, by message type.");
        _consumeFailures = meter.CreateCounter<long>("vqa.consumer.failures", "{attempt}",
            "Consume attempts that failed (each retry counts), by queue, message type and reason (the exception's type).");
        _redelivered = meter.CreateCounter<long>("vqa.consumer.redelivered", "{message}",
            "Messages sent to their queue's delay queue after a transient fault, to come back later, by queue and message type.");
        meter.CreateObservableGauge("vqa.outbox.lag", () => _outboxes.Select(pair =>
                new Measurement<double>(pair.Value.OldestAge.TotalSeconds, Service(pair.Key))), "s",
            "Age of the oldest outbox entry not yet dispatched (0 when the outbox is empty), by service.");
        meter.CreateObservableGauge("vqa.outbox.pending", () => _outboxes.Select(pair =>
                new Measurement<long>(pair.Value.Pending, Service(pair.Key))), "{message}",
            "Outbox entries not yet dispatched (parked ones excluded), by service.");
    }

    /// <summary>Counts one outbox entry of <paramref name="messageType"/> parked.</summary>
    public void OutboxParked(string messageType) => _outboxParked.Add(1, Tag(messageType));

    /// <summary>Counts one received message of <paramref name="messageType"/> parked by its consumer.</summary>
    public void ConsumedParked(string messageType) => _consumedParked.Add(1, Tag(messageType));

    /// <summary>Counts one failed attempt of the consumer on <paramref name="queue"/> at <paramref name="messageType"/>.</summary>
    public void ConsumeFailed(string queue, string messageType, Exception error) =>
        _consumeFailures.Add(1, new KeyValuePair<string, object?>("queue", queue), Tag(messageType),
            new KeyValuePair<string, object?>("reason", error.GetType().Name));

    /// <summary>Counts one message of <paramref name="messageType"/> on <paramref name="queue"/> sent to wait in a delay queue.</summary>
    public void Redelivered(string queue, string messageType) =>
        _redelivered.Add(1, new KeyValuePair<string, object?>("queue", queue), Tag(messageType));

    /// <summary>Records <paramref name="service"/>'s outbox as last measured.</summary>
    public void OutboxMeasured(string service, OutboxBacklog backlog) => _outboxes[service] = backlog;

    private static KeyValuePair<string, object?> Tag(string messageType) => new("message_type", messageType);

    private static KeyValuePair<string, object?> Service(string service) => new("service", service);
}

/// <summary>What an outbox holds undispatched: how many entries, and how long the oldest has waited.</summary>
public readonly record struct OutboxBacklog(long Pending, TimeSpan OldestAge);
