using System.Globalization;

namespace VqaPipeline.Messaging.Redelivery;

/// <summary>
/// Delayed redelivery and the delivery limit of every consumer (read from the <c>Broker</c> section, beside the
/// immediate retries): see <see cref="RedeliveryFilter{TMessage}"/>.
/// </summary>
public sealed record DelayedRedeliveryOptions
{
    /// <summary>The configuration section the settings are read from.</summary>
    public const string Section = "Broker";

    /// <summary>Immediate retries of a failing consume, within one delivery.</summary>
    public int RetryLimit { get; set; } = 3;

    /// <summary>Wait before the first immediate retry; it doubles with each retry after it.</summary>
    public TimeSpan RetryMinInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between immediate retries.</summary>
    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Delays before the 2nd, 3rd, … delivery of a message whose consumer failed with a transient fault, as a
    /// comma-separated list of <c>hh:mm:ss</c>; deliveries past the list wait the last one.
    /// </summary>
    public string RedeliveryIntervals { get; set; } = "00:00:30,00:02:00,00:05:00";

    /// <summary>
    /// Deliveries (each with its immediate retries) a message gets before it is parked with its reason and what it is
    /// about is failed; with the default intervals the last one comes about 17 minutes after the first.
    /// </summary>
    public int DeliveryLimit { get; set; } = 6;

    /// <summary>The wait before immediate retry number <paramref name="retry"/> (1 for the first).</summary>
    public TimeSpan RetryInterval(int retry) =>
        TimeSpan.FromTicks(Math.Min(RetryMaxInterval.Ticks, RetryMinInterval.Ticks * (1L << Math.Min(retry - 1, 30))));

    /// <summary>The delays, parsed.</summary>
    public IReadOnlyList<TimeSpan> Intervals()
    {
        var intervals = RedeliveryIntervals.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(text => TimeSpan.Parse(text, CultureInfo.InvariantCulture)).ToList();
        if (intervals.Count == 0 || intervals.Any(interval => interval <= TimeSpan.Zero))
            throw new InvalidOperationException(
                $"Broker:RedeliveryIntervals '{RedeliveryIntervals}' must list at least one positive interval (e.g. 00:00:30,00:02:00)");
        return intervals;
    }

    /// <summary>How long the message waits before delivery number <paramref name="nextDelivery"/> (2 for the first redelivery).</summary>
    public TimeSpan DelayBefore(int nextDelivery)
    {
        var intervals = Intervals();
        return intervals[Math.Clamp(nextDelivery - 2, 0, intervals.Count - 1)];
    }
}
