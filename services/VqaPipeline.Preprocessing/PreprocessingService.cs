using MassTransit;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Messaging.Redelivery;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Preprocessing.Data;

namespace VqaPipeline.Preprocessing;

/// <summary>Builds the preprocessing worker: consumes <c>ImageIngested</c>, answers ready or rejected.</summary>
public static class PreprocessingService
{
    /// <summary>The service name in logs, metrics and its schema.</summary>
    public const string Name = Services.Preprocessing;

    /// <summary>
    /// The worker, not yet started: its schema, the object store and the <see cref="ImageIngestedConsumer"/>; the
    /// schema is migrated and the bucket created before the bus starts. <paramref name="configure"/> runs before the
    /// service reads its settings.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ServiceHost.CreateBuilder(args, ServiceHost.PreprocessingPort, configure);
        var services = builder.Services;
        services.AddOptions<PreprocessingOptions>().Bind(builder.Configuration.GetSection(PreprocessingOptions.Section));
        services.AddServiceDatabase<PreprocessingDbContext>(builder.Configuration, Name, options => new PreprocessingDbContext(options));
        builder.AddVqaServiceDefaults(Name, bus => bus.AddConsumer<ImageIngestedConsumer, ImageIngestedConsumerDefinition>());

        services.AddSingleton(provider =>
            new ImageLoader(new ImageLoadOptions { MaxPixels = provider.GetRequiredService<IOptions<PreprocessingOptions>>().Value.MaxPixels }));
        services.AddSingleton(provider => new PixelBudget(provider.GetRequiredService<IOptions<PreprocessingOptions>>().Value.PixelBudget));
        services.AddSingleton<PreprocessingMetrics>();
        services.AddParkedMessageHandler<ImageIngested, ParkedImages>();
        services.AddSingleton(TimeProvider.System);

        // The worker has no API of its own: health and metrics only.
        var app = builder.Build();
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

    /// <summary>
    /// Pixels this process decodes at once (see <see cref="VqaPipeline.Preprocessing.PixelBudget"/>). A decoded pixel
    /// costs 7 to 8 bytes until its model-ready PNG is written (the decoder's RGBA beside the RGB image, then the RGB
    /// image beside the RGBA handed to the encoder), so the default of 100 megapixels holds the worker's image memory
    /// under 1 GB: one image of the largest size allowed, or eight 12-megapixel photos, at a time.
    /// </summary>
    public long PixelBudget { get; set; } = 100_000_000;
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
