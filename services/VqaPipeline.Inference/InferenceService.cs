using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Hosting.Outbox;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Storage;

namespace VqaPipeline.Inference;

/// <summary>Wiring of the inference worker: question jobs in, answers stored and announced.</summary>
public static class InferenceService
{
    /// <summary>The service name in logs, metrics and the inbox.</summary>
    public const string Name = "inference";

    /// <summary>Where health and metrics are served unless <c>urls</c> (or <c>ASPNETCORE_URLS</c>) says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5083";

    /// <summary>
    /// Adds the worker to <paramref name="builder"/>: the service defaults, the database, the object store, the model
    /// catalog and the three consumers. The database is migrated and the bucket created before the bus starts.
    /// </summary>
    public static WebApplicationBuilder AddInference(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
            builder.WebHost.UseUrls(DefaultUrl);
        var services = builder.Services;
        services.AddOptions<InferenceOptions>().Bind(builder.Configuration.GetSection(InferenceOptions.Section));
        services.AddVqaPersistence();
        builder.AddVqaServiceDefaults(Name, bus =>
        {
            bus.AddConsumer<QuestionJobSubmittedConsumer, QuestionJobSubmittedConsumerDefinition>();
            bus.AddConsumer<ImageOutcomeConsumer, ImageOutcomeConsumerDefinition>();
            bus.AddConsumer<ImageBatchConsumer, ImageBatchConsumerDefinition>();
        });

        services.AddSingleton(new ImageLoader());
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<JobProgress>();
        services.AddOutboxDispatcher();
        services.AddSingleton<InferenceMetrics>();
        services.AddScoped<AnswerRecorder>();
        services.AddScoped<IAnswerRecorder>(provider => provider.GetRequiredService<AnswerRecorder>());
        return builder;
    }

    /// <summary>Maps the health and metrics endpoints; the worker has no API of its own.</summary>
    public static WebApplication MapInference(this WebApplication app)
    {
        app.MapVqaServiceDefaults();
        return app;
    }
}

/// <summary><c>QuestionJobSubmitted</c> on its own queue, one job start at a time.</summary>
public sealed class QuestionJobSubmittedConsumerDefinition : ConsumerDefinition<QuestionJobSubmittedConsumer>
{
    public QuestionJobSubmittedConsumerDefinition(IOptions<InferenceOptions> options)
    {
        EndpointName = options.Value.JobsQueueName;
        ConcurrentMessageLimit = 1;
    }
}

/// <summary><c>ImagePreprocessed</c> and <c>ImageRejected</c> on their own queue.</summary>
public sealed class ImageOutcomeConsumerDefinition : ConsumerDefinition<ImageOutcomeConsumer>
{
    public ImageOutcomeConsumerDefinition(IOptions<InferenceOptions> options, IOptions<BrokerOptions> broker)
    {
        EndpointName = options.Value.ImagesQueueName;
        ConcurrentMessageLimit = broker.Value.PrefetchCount;
    }
}

/// <summary>
/// The batch queue: up to <see cref="InferenceOptions.BatchMessageLimit"/> commands per consume and two consumes at
/// once, so that one reads its images from storage while the other has the engine (which takes one forward pass at a
/// time and already uses every core). No more is prefetched than those two consumes take, so that competing workers
/// share a job instead of one worker hoarding its commands.
/// </summary>
public sealed class ImageBatchConsumerDefinition : ConsumerDefinition<ImageBatchConsumer>
{
    private const int ConcurrentConsumes = 2;

    private readonly InferenceOptions _options;

    public ImageBatchConsumerDefinition(IOptions<InferenceOptions> options)
    {
        _options = options.Value;
        EndpointName = _options.BatchQueueName;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<ImageBatchConsumer> consumerConfigurator, IRegistrationContext context)
    {
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = ConcurrentConsumes * Math.Max(1, _options.BatchMessageLimit);
        consumerConfigurator.Options<BatchOptions>(batch => batch
            .SetMessageLimit(Math.Max(1, _options.BatchMessageLimit))
            .SetTimeLimit(_options.BatchTimeLimit)
            .SetConcurrencyLimit(ConcurrentConsumes));
    }
}
