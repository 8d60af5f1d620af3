using Microsoft.Extensions.DependencyInjection;

namespace VqaPipeline.Inference.Tests.Support;

/// <summary>The whole pipeline in this process; the inference worker's answer recorder can be made to fail once.</summary>
public sealed class InProcessPipeline : Pipeline
{
    public FailOnce Fault { get; } = new();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (LocalStack.Skipped)
            return;
        var builder = InProcessServices.NewBuilder(new Dictionary<string, string?>(InferenceQueues)
        {
            ["VQA_POSTGRES"] = ConnectionString, ["VQA_RABBITMQ_URL"] = BrokerUrl,
        });
        builder.AddInference();
        builder.Services.AddSingleton(Fault);
        builder.Services.AddScoped<IAnswerRecorder, FailingAnswerRecorder>();
        await StartAsync(builder.Build().MapInference());
    }
}

/// <summary>Armed by a test, makes the next batch fail once its answers are committed.</summary>
public sealed class FailOnce
{
    private int _armed;

    public int Thrown { get; private set; }

    public void Arm() => Interlocked.Exchange(ref _armed, 1);

    public void ThrowIfArmed()
    {
        if (Interlocked.Exchange(ref _armed, 0) == 0)
            return;
        Thrown++;
        throw new InvalidOperationException("injected failure after the batch's answers were committed");
    }
}

/// <summary>The real recorder, then the injected failure: the redelivered batch finds its work already done.</summary>
public sealed class FailingAnswerRecorder(AnswerRecorder inner, FailOnce fault) : IAnswerRecorder
{
    public async Task<IReadOnlyList<(object Message, Guid MessageId)>> RecordAsync(BatchOutcome outcome, CancellationToken cancellationToken)
    {
        var outgoing = await inner.RecordAsync(outcome, cancellationToken);
        if (outcome.Answered.Count > 0)
            fault.ThrowIfArmed();
        return outgoing;
    }
}

[CollectionDefinition(Name)]
public sealed class InProcessCollection : ICollectionFixture<InProcessPipeline>
{
    public const string Name = "pipeline in process";
}
