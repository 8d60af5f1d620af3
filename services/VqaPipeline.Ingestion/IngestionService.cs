using MassTransit;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Hosting.Paging;

namespace VqaPipeline.Ingestion;

/// <summary>
/// Builds the ingestion service: the API of collections, images, labels and bucket imports over its own schema and
/// object storage; it records what preprocessing makes of each image, and writes a collection's labels as a dataset for training.
/// </summary>
public static class IngestionService
{
    public const string Name = Services.Ingestion;

    /// <summary>
    /// The service, not yet started. <paramref name="configure"/> runs before the service reads its settings (tests
    /// add theirs and their listening URL there); <paramref name="configureBus"/> adds consumers.
    /// </summary>
    public static WebApplication Build(
        string[] args, Action<WebApplicationBuilder>? configure = null, Action<IBusRegistrationConfigurator>? configureBus = null)
    {
        var builder = ServiceHost.CreateBuilder(args, ServiceHost.IngestionPort, configure);
        var configuration = builder.Configuration;
        var services = builder.Services;
        // A duplicate upload is an expected unique violation, answered as such: EF's own error logs would cry wolf.
        // Failures nobody handles still reach the log through ASP.NET Core's unhandled-exception logging.
        services.AddServiceDatabase<IngestionDbContext>(configuration, Name, options => new IngestionDbContext(options),
            options => options.ConfigureWarnings(warnings => warnings.Log(
                (RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug))));
        services.AddOptions<IngestionOptions>().Bind(configuration.GetSection(IngestionOptions.Section));
        builder.AddVqaServiceDefaults(Name, bus =>
        {
            bus.AddConsumer<ImageOutcomeConsumer, ImageOutcomeConsumerDefinition>();
            bus.AddConsumer<TrainingDatasetConsumer, TrainingDatasetConsumerDefinition>();
            configureBus?.Invoke(bus);
        });

        var limits = configuration.GetSection(IngestionOptions.Section).Get<IngestionOptions>() ?? new IngestionOptions();
        services.AddSingleton(limits);
        services.AddSingleton(TimeProvider.System);
        services.AddScoped<ImageIngestor>();
        services.AddSingleton<IngestionMetrics>();
        services.AddSingleton<ArchiveExpander>();
        services.AddScoped<TrainingDatasetWriter>();
        services.AddSingleton(configuration.GetSection(ImportOptions.Section).Get<ImportOptions>() ?? new ImportOptions());
        services.AddSingleton<ImportSignal>();
        services.AddHostedService<BucketImportWorker>();
        services.AddHttpClient<UrlDownloader>(UrlDownloader.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() =>
                OutboundAddressGuard.CreateHandler(limits.DownloadTimeout, limits.AllowPrivateNetworkUrls));
        services.Configure<FormOptions>(form => form.MultipartBodyLengthLimit = limits.MaxRequestBytes);
        services.AddVqaOpenApi();

        var app = builder.Build();
        app.MapVqaServiceDefaults();
        app.MapOpenApi();
        app.MapIngestionEndpoints();
        app.MapLabelEndpoints();
        app.MapImportEndpoints();
        return app;
    }
}

/// <summary><c>ImagePreprocessed</c> and <c>ImageRejected</c> on a queue of their own, as many at once as prefetched.</summary>
public sealed class ImageOutcomeConsumerDefinition : ConsumerDefinition<ImageOutcomeConsumer>
{
    public ImageOutcomeConsumerDefinition(IOptions<IngestionOptions> options, IOptions<BrokerOptions> broker)
    {
        EndpointName = options.Value.ImageOutcomesQueueName;
        ConcurrentMessageLimit = broker.Value.PrefetchCount;
    }
}

/// <summary><c>TrainingRequested</c> on a queue of its own: datasets are written one at a time.</summary>
public sealed class TrainingDatasetConsumerDefinition : ConsumerDefinition<TrainingDatasetConsumer>
{
    public TrainingDatasetConsumerDefinition(IOptions<IngestionOptions> options)
    {
        EndpointName = options.Value.TrainingDatasetsQueueName;
        ConcurrentMessageLimit = 1;
    }
}
