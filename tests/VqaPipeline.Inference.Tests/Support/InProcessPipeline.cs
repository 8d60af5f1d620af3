using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Messaging.Inbox;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Inference.Tests.Support;

/// <summary>The whole pipeline in this process; the inference worker's answer recorder can be made to fail once.</summary>
public sealed class InProcessPipeline : Pipeline
{
    public FailOnce Fault { get; } = new();

    protected override StackOptions Options(StackOptions defaults) => defaults with
    {
        Configure = (service, builder) =>
        {
            if (service != Services.Inference)
                return;
            builder.Services.AddSingleton(Fault);
            builder.Services.AddScoped<IAnswerRecorder, FailingAnswerRecorder>();
        },
    };
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

/// <summary>
/// The real recorder, then the injected failure once the batch's transaction has committed: the message is redelivered
/// and finds its work already done.
/// </summary>
public sealed class FailingAnswerRecorder(AnswerRecorder inner, FailOnce fault, InboxTransaction transaction) : IAnswerRecorder
{
    public async Task RecordAsync(BatchOutcome outcome, CancellationToken cancellationToken)
    {
        await inner.RecordAsync(outcome, cancellationToken);
        if (outcome.Answered.Count > 0)
            transaction.AfterCommit(_ =>
            {
                fault.ThrowIfArmed();
                return Task.CompletedTask;
            });
    }
}

[CollectionDefinition(Name)]
public sealed class InProcessCollection : ICollectionFixture<InProcessPipeline>
{
    public const string Name = "pipeline in process";
}
