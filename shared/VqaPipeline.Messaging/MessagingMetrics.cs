using System.Diagnostics.Metrics;

namespace VqaPipeline.Messaging;

/// <summary>
/// Messages given up on, under the meter <c>VqaPipeline.Messaging</c> (exported on <c>/metrics</c>): what the outbox
/// parked, and what consumers parked out of their batches. Each parked message is in the event log with its reason.
/// </summary>
public sealed class MessagingMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "VqaPipeline.Messaging";

    private readonly Counter<long> _outboxParked;
    private readonly Counter<long> _consumedParked;

    /// <summary>Creates the instruments with <paramref name="meterFactory"/>.</summary>
    public MessagingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _outboxParked = meter.CreateCounter<long>("vqa.outbox.parked", "{message}",
            "Outbox entries parked after failing to publish too often, by message type.");
        _consumedParked = meter.CreateCounter<long>("vqa.consumer.parked", "{message}",
            "Received messages a consumer could not handle and parked while handling the rest, by message type.");
    }

    /// <summary>Counts one outbox entry of <paramref name="messageType"/> parked.</summary>
    public void OutboxParked(string messageType) => _outboxParked.Add(1, Tag(messageType));

    /// <summary>Counts one received message of <paramref name="messageType"/> parked by its consumer.</summary>
    public void ConsumedParked(string messageType) => _consumedParked.Add(1, Tag(messageType));

    private static KeyValuePair<string, object?> Tag(string messageType) => new("message_type", messageType);
}
