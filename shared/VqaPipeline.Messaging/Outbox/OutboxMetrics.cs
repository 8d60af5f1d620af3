using System.Diagnostics.Metrics;

namespace VqaPipeline.Messaging.Outbox;

/// <summary>What the outbox gave up on, under the meter <c>VqaPipeline.Messaging</c> (exported on <c>/metrics</c>).</summary>
public sealed class OutboxMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "VqaPipeline.Messaging";

    private readonly Counter<long> _parked;

    /// <summary>Creates the instruments with <paramref name="meterFactory"/>.</summary>
    public OutboxMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _parked = meter.CreateCounter<long>("vqa.outbox.parked", "{message}",
            "Outbox entries parked after failing to publish too often, by message type.");
    }

    /// <summary>Counts one parked entry of <paramref name="messageType"/>.</summary>
    public void Parked(string messageType) => _parked.Add(1, new KeyValuePair<string, object?>("message_type", messageType));
}
