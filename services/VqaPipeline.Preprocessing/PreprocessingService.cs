using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Hosting.Outbox;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Storage;

namespace VqaPipeline.Preprocessing;

/// <summary>Wiring of the preprocessing worker: consumes <c>ImageIngested</c>, answers ready or rejected.</summary>
public static class PreprocessingService
{
    /// <summary>The service name in logs, metrics and the inbox.</summary>
    public const string Name = "preprocessing";

    /// <summary>
    /// Adds the worker to <paramref name="builder"/>: the service defaults, the database, the object store and the
    /// <see cref="ImageIngestedConsumer"/>. The database is migrated and the bucket created before the bus starts.
    /// </summary>
    public static WebApplicationBuilder AddPreprocessing(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<PreprocessingOptions>().Bind(builder.Configuration.GetSection(PreprocessingOptions.Section));
        services.AddVqaPersistence();
        builder.AddVqaServiceDefaults(Name, bus => bus.AddConsumer<ImageIngestedConsumer, ImageIngestedConsumerDefinition>());

        services.AddSingleton(provider =>
            new ImageLoader(new ImageLoadOptions { MaxPixels = provider.GetRequiredService<IOptions<PreprocessingOptions>>().Value.MaxPixels }));
        services.AddSingleton<PreprocessingMetrics>();
        services.AddOutboxDispatcher();
        return builder;
    }

    /// <summary>Maps the health and metrics endpoints; the worker has no API of its own.</summary>
    public static WebApplication MapPreprocessing(this WebApplication app)
    {
        app.MapVqaServiceDefaults();
        return app;
    }
}

/// <summary>Settings of the preprocessing worker (configuration section <c>Preprocessing</c>).</summary>
public sealed record PreprocessingOptions
{
    public const string Section = "Preprocessing";

    /// <summary>The queue <c>ImageIngested</c> is consumed from; every worker sharing it shares the work.</summary>
    public string QueueName { get; set; } = "preprocessing-image-ingested";

    /// <summary>Largest width * height accepted (decompression bombs); Pillow's limit by default.</summary>
    public long MaxPixels { get; set; } = new ImageLoadOptions().MaxPixels;
}

/// <summary>The consumer's queue and how many messages it handles at once: as many as the broker prefetches.</summary>
public sealed class ImageIngestedConsumerDefinition : ConsumerDefinition<ImageIngestedConsumer>
{
    public ImageIngestedConsumerDefinition(IOptions<PreprocessingOptions> preprocessing, IOptions<BrokerOptions> broker)
    {
        EndpointName = preprocessing.Value.QueueName;
        ConcurrentMessageLimit = broker.Value.PrefetchCount;
    }
}
