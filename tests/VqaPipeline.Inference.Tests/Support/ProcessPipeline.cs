namespace VqaPipeline.Inference.Tests.Support;

/// <summary>Ingestion and preprocessing in this process; inference workers as real processes the tests start and kill.</summary>
public sealed class ProcessPipeline : Pipeline
{
    private readonly List<WorkerProcess> _workers = [];

    public async Task<WorkerProcess> StartWorkerAsync()
    {
        var worker = WorkerProcess.Start(ConnectionString, InferenceQueues);
        _workers.Add(worker);
        try
        {
            await WaitUntilReadyAsync(worker.Port);
        }
        catch (TimeoutException exception)
        {
            throw new TimeoutException($"{exception.Message}; worker output:\n{worker.Output}", exception);
        }
        return worker;
    }

    public override async Task DisposeAsync()
    {
        foreach (var worker in _workers)
            await worker.DisposeAsync();
        await base.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ProcessCollection : ICollectionFixture<ProcessPipeline>
{
    public const string Name = "pipeline with worker processes";
}
