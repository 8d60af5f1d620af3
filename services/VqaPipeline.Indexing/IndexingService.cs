using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Messaging;
using VqaPipeline.Storage;

namespace VqaPipeline.Indexing;

/// <summary>
/// Builds the indexing service: the worker that indexes <c>AnswersProduced</c>, the search API over the index and the
/// replay endpoint.
/// </summary>
public static class IndexingService
{
    public const string Name = "indexing";

    /// <summary>Where the service listens unless <c>urls</c>, <c>ASPNETCORE_URLS</c> or <c>VQA_SEARCH_URL</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5081";

    /// <summary>Where the jobs API is unless <c>VQA_INGESTION_URL</c> says otherwise.</summary>
    public const string DefaultIngestionUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// The service, not yet started. <paramref name="configure"/> runs before the service defaults read the settings
    /// (tests add theirs and their listening URL there); <paramref name="configureBus"/> adds consumers.
    /// </summary>
    public static WebApplication Build(
        string[] args, Action<WebApplicationBuilder>? configure = null, Action<IBusRegistrationConfigurator>? configureBus = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
            builder.WebHost.UseUrls(builder.Configuration["VQA_SEARCH_URL"] is { Length: > 0 } url ? url : DefaultUrl);
        configure?.Invoke(builder);

        var services = builder.Services;
        services.AddOptions<IndexingOptions>().Bind(builder.Configuration.GetSection(IndexingOptions.Section));
        services.AddVqaPersistence(options => options.ConfigureWarnings(warnings => warnings.Log((RelationalEventId.CommandError, LogLevel.Debug))));
        builder.AddVqaServiceDefaults(Name, bus =>
        {
            bus.AddConsumer<AnswersProducedConsumer, AnswersProducedConsumerDefinition>();
            configureBus?.Invoke(bus);
        });

        var configuration = builder.Configuration;
        var connectionString = configuration[$"{DatabaseOptions.Section}:{nameof(DatabaseOptions.ConnectionString)}"];
        if (string.IsNullOrEmpty(connectionString))
            throw new InvalidOperationException("VQA_POSTGRES is not set: the indexing service needs PostgreSQL");
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton(new EventLogReplayer(connectionString));
        var ingestionUrl = configuration["VQA_INGESTION_URL"] is { Length: > 0 } ingestion ? ingestion : DefaultIngestionUrl;
        services.AddHttpClient<JobsClient>(JobsClient.ClientName, client =>
        {
            client.BaseAddress = new Uri(ingestionUrl.TrimEnd('/') + "/");
            client.Timeout = TimeSpan.FromSeconds(30);
        });
        services.AddScoped<RetrievalSearch>();
        services.AddOpenApi();

        var app = builder.Build();
        app.MapVqaServiceDefaults();
        app.MapOpenApi();
        app.MapIndexingEndpoints();
        return app;
    }
}
