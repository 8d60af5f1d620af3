namespace VqaPipeline.Messaging.Outbox;

/// <summary>Settings of the outbox dispatcher (configuration section <c>Outbox</c>).</summary>
public sealed record OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>
    /// How often the outbox is checked without a wake-up: what a crashed process left, or another process committed,
    /// goes out within this time.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Rows locked and published per transaction.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Longest a batch may take to publish before the attempt counts as failed (the broker is down).</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First wait after a failed attempt; it doubles with every further failure.</summary>
    public TimeSpan MinRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest wait between attempts while the broker or database stays down.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Failed attempts after which an entry that cannot be published (for a reason of its own, not because the broker
    /// is down) is parked: marked with its reason and skipped, so the entries after it go out.
    /// </summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How often the outbox's backlog (entries waiting, age of the oldest) is measured for the metrics.</summary>
    public TimeSpan MeasureInterval { get; set; } = TimeSpan.FromSeconds(15);
}
