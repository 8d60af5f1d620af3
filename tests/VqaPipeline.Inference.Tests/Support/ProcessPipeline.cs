using VqaPipeline.Contracts.V1;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Inference.Tests.Support;

/// <summary>
/// Ingestion, preprocessing and the inference service in this process, the latter answering no images itself; the
/// workers that answer them run as real processes the tests start and kill.
/// </summary>
public sealed class ProcessPipeline : Pipeline
{
    protected override StackOptions Options(StackOptions defaults) => defaults with
    {
        ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>(defaults.ServiceSettings)
        {
            [Services.Inference] = new Dictionary<string, string?>(defaults.ServiceSettings[Services.Inference])
            {
                ["Inference:AnswerImages"] = "false",
            },
        },
    };

    public Task<WorkerProcess> StartWorkerAsync() =>
        Stack.StartProcessAsync(Services.Inference, new Dictionary<string, string?>(InferenceQueues)
        {
            ["Inference:AnswerImages"] = "true",
            ["Serilog:MinimumLevel:Override:MassTransit"] = "Warning",
        });

    /// <summary>Stops every worker an earlier test left on the shared queues, so a test counts only its own.</summary>
    public Task StopWorkersAsync() => Stack.StopProcessesAsync();
}

[CollectionDefinition(Name)]
public sealed class ProcessCollection : ICollectionFixture<ProcessPipeline>
{
    public const string Name = "pipeline with worker processes";
}
