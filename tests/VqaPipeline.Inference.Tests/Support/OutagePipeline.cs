using VqaPipeline.Contracts.V1;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Preprocessing.Data;
using VqaPipeline.StackTesting;
using VqaPipeline.Storage;

namespace VqaPipeline.Inference.Tests.Support;

/// <summary>
/// The whole pipeline (indexing included) in this process on a PostgreSQL server and an S3 server of its own, which a
/// test stops and starts, with redelivery delays short enough for a one-minute outage to be waited out in a test.
/// </summary>
public sealed class OutagePipeline : Pipeline
{
    /// <summary>The delays a message that met a transient fault waits in the broker (the last repeats).</summary>
    public const string RedeliveryIntervals = "00:00:05,00:00:10,00:00:20";

    /// <summary>Deliveries before parking: 5 + 10 + 20 × 10 s of waiting, well past a one-minute outage.</summary>
    public const int DeliveryLimit = 13;

    public PrivatePostgres Postgres { get; private set; } = null!;

    public PrivateS3 S3 { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        if (LocalStack.Skipped)
            return;
        Postgres = await PrivatePostgres.StartNewAsync();
        S3 = await PrivateS3.StartNewAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        // A test that failed mid-outage leaves a server stopped; the stack's clean-up needs both.
        if (Postgres is { Running: false })
            await Postgres.StartAsync();
        if (S3 is { Running: false })
            await S3.StartAsync();
        await base.DisposeAsync();
        if (S3 is not null)
            await S3.DisposeAsync();
        if (Postgres is not null)
            await Postgres.DisposeAsync();
    }

    protected override StackOptions Options(StackOptions defaults) => defaults with
    {
        Purpose = "outage",
        InProcess = [Services.Ingestion, Services.Preprocessing, Services.Indexing, Services.Inference],
        PostgresServer = Postgres.ConnectionString,
        Storage = new ObjectStoreOptions(S3.Endpoint, PrivateS3.AccessKey, PrivateS3.SecretKey, S3.Bucket),
        Settings = new Dictionary<string, string?>
        {
            ["Broker:RedeliveryIntervals"] = RedeliveryIntervals,
            ["Broker:DeliveryLimit"] = DeliveryLimit.ToString(),
        },
        ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>(defaults.ServiceSettings)
        {
            // One image a batch: a job is many commands in flight, so an outage meets some of them.
            [Services.Inference] = new Dictionary<string, string?>(defaults.ServiceSettings[Services.Inference])
            {
                ["Inference:ImagesPerBatch"] = "1",
            },
        },
    };

    public IngestionDbContext Ingestion() => Stack.Ingestion();

    public PreprocessingDbContext Preprocessing() => Stack.Preprocessing();

    public IndexingDbContext Indexing() => Stack.Indexing();

    /// <summary>Each queue of this pipeline's virtual host and the messages it holds.</summary>
    public Task<IReadOnlyDictionary<string, long>> QueueDepthsAsync() =>
        RabbitMqVirtualHost.QueueDepthsAsync(new Uri(BrokerUrl).AbsolutePath.TrimStart('/'));
}
