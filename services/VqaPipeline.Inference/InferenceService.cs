using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Inference.Data;
using VqaPipeline.Messaging.Redelivery;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Storage;
using VqaPipeline.Hosting.Paging;

namespace VqaPipeline.Inference;

/// <summary>
/// Builds the inference service: the jobs API over its own schema, and the worker that starts jobs, answers their
/// images with the engine and announces the answers.
/// </summary>
public static class InferenceService
{
    /// <summary>The service name in logs, metrics and its schema.</summary>
    public const string Name = Services.Inference;

    /// <summary>
    /// The service, not yet started: its schema (migrated before the bus starts), the object store, the model catalog,
    /// the three consumers and the jobs API. <paramref name="configure"/> runs before the service reads its settings.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ServiceHost.CreateBuilder(args, ServiceHost.InferencePort, configure);
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddOptions<InferenceOptions>().Bind(configuration.GetSection(InferenceOptions.Section));
        services.AddServiceDatabase<InferenceDbContext>(configuration, Name, options => new InferenceDbContext(options));
        var answerImages = configuration.GetSection(InferenceOptions.Section).Get<InferenceOptions>()?.AnswerImages ?? true;
        builder.AddVqaServiceDefaults(Name, bus =>
        {
            bus.AddConsumer<QuestionJobSubmittedConsumer, QuestionJobSubmittedConsumerDefinition>();
            bus.AddConsumer<ImageEventsConsumer, ImageEventsConsumerDefinition>();
            if (answerImages)
                bus.AddConsumer<ImageBatchConsumer, ImageBatchConsumerDefinition>();
        });

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new ImageLoader());
        services.AddModelLocator(configuration, defaultCacheDir: configuration[$"{InferenceOptions.Section}:{nameof(InferenceOptions.ModelCacheDir)}"]);
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<JobProgress>();
        services.AddSingleton<InferenceMetrics>();
        services.AddScoped<AnswerRecorder>();
        services.AddParkedMessageHandler<QuestionJobSubmitted, ParkedJobWork>();
        services.AddParkedMessageHandler<ImageBatchRequested, ParkedJobWork>();
        services.AddHostedService<StuckImageSweeper>();
        // A test registers a recorder of its own first (see ServiceHost.CreateBuilder's configure); it is kept.
        services.TryAddScoped<IAnswerRecorder>(provider => provider.GetRequiredService<AnswerRecorder>());
        CollectionsClient.Register(services, ServiceAddresses.From(configuration));
        services.AddVqaOpenApi();

        var app = builder.Build();
        app.MapVqaServiceDefaults();
        app.MapOpenApi();
        app.MapJobEndpoints();
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

/// <summary><c>ImageIngested</c>, <c>ImagePreprocessed</c> and <c>ImageRejected</c> on their own queue.</summary>
public sealed class ImageEventsConsumerDefinition : ConsumerDefinition<ImageEventsConsumer>
{
    public ImageEventsConsumerDefinition(IOptions<InferenceOptions> options, IOptions<BrokerOptions> broker)
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
