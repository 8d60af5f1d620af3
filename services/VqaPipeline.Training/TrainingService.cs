using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Training.Data;
using VqaPipeline.Messaging.Redelivery;
using VqaPipeline.Hosting.Paging;

namespace VqaPipeline.Training;

/// <summary>
/// Builds the training service: the API of training runs and model versions over its own schema, and the worker that
/// trains runs one at a time (<see cref="TrainingWorker"/>), resuming a run whose worker died from its last checkpoint.
/// </summary>
public static class TrainingService
{
    /// <summary>The service name in logs, metrics and its schema.</summary>
    public const string Name = Services.Training;

    /// <summary>
    /// The service, not yet started; its schema is migrated before the bus starts. <paramref name="configure"/> runs
    /// before the service reads its settings; with <c>Training:RunWorker</c> false it serves the API only.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ServiceHost.CreateBuilder(args, ServiceHost.TrainingPort, configure);
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddOptions<TrainingOptions>().Bind(configuration.GetSection(TrainingOptions.Section));
        services.AddOptions<TrainingRunLimits>().Bind(configuration.GetSection(TrainingRunLimits.Section));
        var options = configuration.GetSection(TrainingOptions.Section).Get<TrainingOptions>() ?? new TrainingOptions();
        services.AddServiceDatabase<TrainingDbContext>(configuration, Name, create => new TrainingDbContext(create));
        builder.AddVqaServiceDefaults(Name, bus =>
        {
            bus.AddConsumer<TrainingRequestedConsumer, TrainingRequestedConsumerDefinition>();
            bus.AddConsumer<TrainingDatasetOutcomeConsumer, TrainingDatasetOutcomeConsumerDefinition>();
        });

        services.AddSingleton(TimeProvider.System);
        services.AddModelLocator(configuration, defaultCacheDir: Path.Combine(options.WorkFolder, "models"));
        services.AddSingleton<TrainingRunner>();
        services.AddSingleton<TrainingMetrics>();
        services.AddParkedMessageHandler<TrainingRequested, ParkedTrainingRuns>();
        services.AddParkedMessageHandler<TrainingDatasetPrepared, ParkedTrainingRuns>();
        CollectionsClient.Register(services, ServiceAddresses.From(configuration));
        if (options.RunWorker)
            services.AddHostedService<TrainingWorker>();
        services.AddVqaOpenApi();

        var app = builder.Build();
        app.MapVqaServiceDefaults();
        app.MapOpenApi();
        app.MapTrainingRunEndpoints();
        return app;
    }
}

/// <summary>Settings of the training worker (configuration section <c>Training</c>).</summary>
public sealed record TrainingOptions
{
    public const string Section = "Training";

    /// <summary>The queue <c>TrainingRequested</c> is consumed from.</summary>
    public string QueueName { get; set; } = "training-requested";

    /// <summary>
    /// Where runs keep their data, checkpoints and downloaded models. It must outlive the process: a restarted worker
    /// resumes its run from the checkpoints here.
    /// </summary>
    public string WorkFolder { get; set; } = Path.Combine(Path.GetTempPath(), "vqapipeline-training");

    /// <summary>How often a waiting worker looks for a run to take.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a training worker says it is alive.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A running run whose worker has been silent this long is taken over by another worker.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How many times a run is taken (by this or another worker) before it fails: an attempt ends when training throws
    /// something other than a bad request or bad data, when the worker goes over the memory bound, or when the worker
    /// stops saying it is alive (killed for memory, lost its machine).
    /// </summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// The most resident memory (MB) this worker process may hold while it trains a run; a run may ask for less
    /// (<c>maxMemoryMb</c>). An attempt that goes over is stopped at its next step. None when null.
    /// </summary>
    public int? MaxMemoryMb { get; set; }

    /// <summary>How often a training worker reads its resident memory while a run has a memory bound.</summary>
    public TimeSpan MemorySampleInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How many times a trained model's upload is tried before the attempt fails.</summary>
    public int UploadAttempts { get; set; } = 3;

    /// <summary>The wait before the second try of an upload; each further try waits this much longer.</summary>
    public TimeSpan UploadRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Training steps between progress reports.</summary>
    public int LogEvery { get; set; } = 10;

    /// <summary>Checkpoints kept per run (older ones are pruned).</summary>
    public int KeepCheckpoints { get; set; } = 2;

    /// <summary>The device training runs on (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>).</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Whether this instance trains runs, besides serving the API and recording what the messages say.</summary>
    public bool RunWorker { get; set; } = true;

    /// <summary>The queue of <c>TrainingDatasetPrepared</c> and <c>TrainingDatasetRejected</c>.</summary>
    public string DatasetsQueueName { get; set; } = "training-datasets";
}

/// <summary>One training run at a time per worker: requests wait in the database, not in the broker.</summary>
public sealed class TrainingRequestedConsumerDefinition : ConsumerDefinition<TrainingRequestedConsumer>
{
    public TrainingRequestedConsumerDefinition(IOptions<TrainingOptions> training) => EndpointName = training.Value.QueueName;
}

/// <summary>The outcomes of the datasets ingestion writes for runs, on a queue of their own.</summary>
public sealed class TrainingDatasetOutcomeConsumerDefinition : ConsumerDefinition<TrainingDatasetOutcomeConsumer>
{
    public TrainingDatasetOutcomeConsumerDefinition(IOptions<TrainingOptions> training) => EndpointName = training.Value.DatasetsQueueName;
}
