using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Hosting.Outbox;
using VqaPipeline.Storage;

namespace VqaPipeline.Training;

/// <summary>
/// Wiring of the training worker: <see cref="TrainingRequestedConsumer"/> records requested runs, and
/// <see cref="TrainingWorker"/> trains them one at a time, resuming a run whose worker died from its last checkpoint.
/// </summary>
public static class TrainingService
{
    /// <summary>The service name in logs, metrics and the inbox.</summary>
    public const string Name = "training";

    /// <summary>Adds the worker to <paramref name="builder"/>; the database is migrated before the bus starts.</summary>
    public static WebApplicationBuilder AddTraining(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TrainingOptions>().Bind(builder.Configuration.GetSection(TrainingOptions.Section));
        services.AddVqaPersistence();
        builder.AddVqaServiceDefaults(Name, bus => bus.AddConsumer<TrainingRequestedConsumer, TrainingRequestedConsumerDefinition>());

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<TrainingRunner>();
        services.AddOutboxDispatcher();
        services.AddHostedService<TrainingWorker>();
        return builder;
    }

    /// <summary>Maps the health and metrics endpoints; the worker has no API of its own.</summary>
    public static WebApplication MapTraining(this WebApplication app)
    {
        app.MapVqaServiceDefaults();
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

    /// <summary>Training steps between progress reports.</summary>
    public int LogEvery { get; set; } = 10;

    /// <summary>Checkpoints kept per run (older ones are pruned).</summary>
    public int KeepCheckpoints { get; set; } = 2;

    /// <summary>The device training runs on (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>).</summary>
    public string Device { get; set; } = "cpu";
}

/// <summary>One training run at a time per worker: requests wait in the database, not in the broker.</summary>
public sealed class TrainingRequestedConsumerDefinition : ConsumerDefinition<TrainingRequestedConsumer>
{
    public TrainingRequestedConsumerDefinition(IOptions<TrainingOptions> training) => EndpointName = training.Value.QueueName;
}
