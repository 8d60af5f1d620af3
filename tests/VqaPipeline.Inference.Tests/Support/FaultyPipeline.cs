using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Contracts.V1;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Inference.Tests.Support;

/// <summary>
/// The whole pipeline in this process with short redelivery delays, a low delivery limit and a quick sweeper; the
/// inference worker's answer recorder is in the hands of <see cref="Faults"/>.
/// </summary>
public sealed class FaultyPipeline : Pipeline
{
    public static readonly TimeSpan RedeliveryInterval = TimeSpan.FromSeconds(2);
    public const int DeliveryLimit = 3;
    public static readonly TimeSpan StuckImageDeadline = TimeSpan.FromSeconds(10);

    public RecorderFaults Faults { get; } = new();

    protected override StackOptions Options(StackOptions defaults) => defaults with
    {
        ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>(defaults.ServiceSettings!)
        {
            [Services.Inference] = new Dictionary<string, string?>(defaults.ServiceSettings![Services.Inference])
            {
                ["Broker:RetryLimit"] = "1",
                ["Broker:RetryMinInterval"] = "00:00:00.050",
                ["Broker:RedeliveryIntervals"] = RedeliveryInterval.ToString(),
                ["Broker:DeliveryLimit"] = DeliveryLimit.ToString(),
                ["Inference:StuckImageDeadline"] = StuckImageDeadline.ToString(),
                ["Inference:SweepInterval"] = "00:00:01",
            },
        },
        Configure = (service, builder) =>
        {
            if (service != Services.Inference)
                return;
            builder.Services.AddSingleton(Faults);
            builder.Services.AddScoped<IAnswerRecorder, FaultyAnswerRecorder>();
        },
    };
}

/// <summary>What the next batches of a job meet when their answers are recorded.</summary>
public sealed class RecorderFaults
{
    private int _failures;
    private int _losses;

    /// <summary>Batches recorded, lost and failed so far.</summary>
    public int Recorded, Lost, Failed;

    /// <summary>The next <paramref name="attempts"/> record attempts fail as a database that is away would.</summary>
    public void FailNext(int attempts) => Volatile.Write(ref _failures, attempts);

    /// <summary>The next <paramref name="batches"/> batches vanish: acknowledged, nothing recorded.</summary>
    public void LoseNext(int batches) => Volatile.Write(ref _losses, batches);

    /// <summary>Whether this batch is lost; throws when it is to fail.</summary>
    public bool Meet()
    {
        if (Interlocked.Decrement(ref _failures) >= 0)
        {
            Interlocked.Increment(ref Failed);
            throw new SocketException((int)SocketError.ConnectionRefused);
        }
        if (Interlocked.Decrement(ref _losses) >= 0)
        {
            Interlocked.Increment(ref Lost);
            return true;
        }
        Interlocked.Increment(ref Recorded);
        return false;
    }

    public void Reset()
    {
        Volatile.Write(ref _failures, 0);
        Volatile.Write(ref _losses, 0);
    }
}

/// <summary>The real recorder behind <see cref="RecorderFaults"/>.</summary>
public sealed class FaultyAnswerRecorder(AnswerRecorder inner, RecorderFaults faults) : IAnswerRecorder
{
    public async Task RecordAsync(BatchOutcome outcome, CancellationToken cancellationToken)
    {
        if (!faults.Meet())
            await inner.RecordAsync(outcome, cancellationToken);
    }
}

[CollectionDefinition(Name)]
public sealed class FaultyCollection : ICollectionFixture<FaultyPipeline>
{
    public const string Name = "pipeline with faults";
}
