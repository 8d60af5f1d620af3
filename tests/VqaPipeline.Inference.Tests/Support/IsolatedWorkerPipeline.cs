using VqaPipeline.Contracts.V1;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Inference.Tests.Support;

/// <summary>
/// Ingestion, preprocessing and the inference API in this process on a PostgreSQL server of its own; the workers that
/// answer images run as processes on two isolated hosts (<see cref="IsolatedHost"/>: network namespaces joined to this
/// machine by virtual links), reaching the database directly over their link and the broker and the object store
/// through relays on it. The workers ask for a 2-second AMQP heartbeat, and the database ends a vanished client's
/// session within seconds (<see cref="PrivatePostgres"/>), so a host cut off mid-job frees its work quickly.
/// </summary>
public sealed class IsolatedWorkerPipeline : Pipeline
{
    private readonly List<WorkerProcess> _workers = [];

    /// <summary>The two isolated hosts, each for one worker.</summary>
    public IReadOnlyList<IsolatedHost> Hosts { get; private set; } = [];

    public PrivatePostgres Postgres { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        if (LocalStack.Skipped || IsolatedHost.Unavailable is not null)
            return;
        Hosts = [await IsolatedHost.CreateAsync(), await IsolatedHost.CreateAsync()];
        Postgres = await PrivatePostgres.StartNewAsync([.. Hosts]);
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        foreach (var worker in _workers)
            await worker.DisposeAsync();
        await base.DisposeAsync();
        foreach (var host in Hosts)
            await host.DisposeAsync();
        if (Postgres is not null)
            await Postgres.DisposeAsync();
    }

    protected override StackOptions Options(StackOptions defaults) => defaults with
    {
        Purpose = "isolated",
        PostgresServer = Postgres.ConnectionString,
        ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>(defaults.ServiceSettings)
        {
            [Services.Inference] = new Dictionary<string, string?>(defaults.ServiceSettings[Services.Inference])
            {
                ["Inference:AnswerImages"] = "false",
            },
        },
    };

    /// <summary>An inference worker (the built service) on <paramref name="host"/>, once it is ready.</summary>
    public async Task<WorkerProcess> StartWorkerAsync(IsolatedHost host)
    {
        var settings = Stack.SettingsFor(Services.Inference, new Dictionary<string, string?>(InferenceQueues)
        {
            ["Inference:AnswerImages"] = "true",
            ["Broker:Heartbeat"] = "00:00:02",
            ["Serilog:MinimumLevel:Override:MassTransit"] = "Warning",
        });
        var worker = WorkerProcess.Start(WorkerProcess.BuiltServiceDll("VqaPipeline.Inference"), settings, host);
        _workers.Add(worker);
        await worker.WaitUntilReadyAsync(Patience);
        return worker;
    }
}

[CollectionDefinition(Name)]
public sealed class IsolatedWorkerCollection : ICollectionFixture<IsolatedWorkerPipeline>
{
    public const string Name = "pipeline with workers on isolated hosts";
}
