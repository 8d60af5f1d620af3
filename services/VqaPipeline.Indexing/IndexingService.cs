using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Messaging.Replay;
using VqaPipeline.Hosting.Paging;

namespace VqaPipeline.Indexing;

/// <summary>
/// Builds the indexing service: the worker that indexes <c>AnswersProduced</c> into its own schema, the search API
/// over the index, and the replay endpoint.
/// </summary>
public static class IndexingService
{
    public const string Name = Services.Indexing;

    /// <summary>
    /// The service, not yet started. <paramref name="configure"/> runs before the service reads its settings (tests
    /// add theirs and their listening URL there); <paramref name="configureBus"/> adds consumers.
    /// </summary>
    public static WebApplication Build(
        string[] args, Action<WebApplicationBuilder>? configure = null, Action<IBusRegistrationConfigurator>? configureBus = null)
    {
        var builder = ServiceHost.CreateBuilder(args, ServiceHost.IndexingPort, configure);
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddOptions<IndexingOptions>().Bind(configuration.GetSection(IndexingOptions.Section));
        services.AddServiceDatabase<IndexingDbContext>(configuration, Name, options => new IndexingDbContext(options),
            options => options.ConfigureWarnings(warnings => warnings.Log((RelationalEventId.CommandError, LogLevel.Debug))));
        builder.AddVqaServiceDefaults(Name, bus =>
        {
            bus.AddConsumer<AnswersProducedConsumer, AnswersProducedConsumerDefinition>();
            bus.AddConsumer<QuestionJobEndedConsumer, QuestionJobEndedConsumerDefinition>();
            configureBus?.Invoke(bus);
        });

        var connectionString = ServiceDbContext.WithSearchPath(Persistence.ConnectionString(configuration), Name);
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        var addresses = ServiceAddresses.From(configuration);
        services.AddSingleton(addresses);
        services.AddHttpClient<JobsClient>(JobsClient.ClientName, client =>
        {
            client.BaseAddress = addresses.Inference;
            client.Timeout = TimeSpan.FromSeconds(30);
        });
        CollectionsClient.Register(services, addresses);
        services.AddSingleton<KnownCollections>();
        services.AddSingleton<ReplayClient>();
        services.AddScoped<RetrievalSearch>();
        services.AddVqaOpenApi();

        var app = builder.Build();
        app.MapVqaServiceDefaults();
        app.MapOpenApi();
        app.MapIndexingEndpoints();
        return app;
    }
}
