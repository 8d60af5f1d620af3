namespace VqaPipeline.Inference.Tests.Support;

/// <summary>Ingestion and preprocessing in this process; inference workers as real processes the tests start and kill.</summary>
public sealed class ProcessPipeline : Pipeline
{
    private readonly List<WorkerProcess> _workers = [];

    public async Task<WorkerProcess> StartWorkerAsync()
    {
        var worker = WorkerProcess.Start(WorkerProcess.BuiltServiceDll("VqaPipeline.Inference"),
            new Dictionary<string, string?>(InferenceQueues)
            {
                ["VQA_POSTGRES"] = ConnectionString,
                ["VQA_RABBITMQ_URL"] = BrokerUrl,
                ["Serilog:MinimumLevel:Override:MassTransit"] = "Warning",
            });
        _workers.Add(worker);
        await worker.WaitUntilReadyAsync(Patience);
        return worker;
    }

    /// <summary>Stops every worker an earlier test left on the shared queues, so a test counts only its own.</summary>
    public async Task StopWorkersAsync()
    {
        foreach (var worker in _workers)
            await worker.DisposeAsync();
        _workers.Clear();
    }

    public override async Task DisposeAsync()
    {
        await StopWorkersAsync();
        await base.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ProcessCollection : ICollectionFixture<ProcessPipeline>
{
    public const string Name = "pipeline with worker processes";
}
