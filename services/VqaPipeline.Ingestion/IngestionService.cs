using MassTransit;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Hosting.Outbox;
using VqaPipeline.Storage;

namespace VqaPipeline.Ingestion;

/// <summary>Builds the ingestion service: the HTTP API over PostgreSQL, object storage and the bus.</summary>
public static class IngestionService
{
    public const string Name = "ingestion";

    /// <summary>Where the service listens unless <c>urls</c> (or <c>ASPNETCORE_URLS</c>) says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// The service, not yet started. <paramref name="configure"/> runs before the service defaults read the settings
    /// (tests add theirs and their listening URL there); <paramref name="configureBus"/> adds consumers.
    /// </summary>
    public static WebApplication Build(
        string[] args, Action<WebApplicationBuilder>? configure = null, Action<IBusRegistrationConfigurator>? configureBus = null)
    {
        // up.sh runs the dll from the repository root: appsettings.json is found next to the dll, not in the cwd.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
            builder.WebHost.UseUrls(builder.Configuration["VQA_INGESTION_URL"] is { Length: > 0 } url ? url : DefaultUrl);
        configure?.Invoke(builder);
        // A duplicate upload is an expected unique violation, answered as such: EF's own error logs would cry wolf.
        // Failures nobody handles still reach the log through ASP.NET Core's unhandled-exception logging.
        builder.Services.AddVqaPersistence(options => options.ConfigureWarnings(warnings => warnings.Log(
            (RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug))));
        builder.AddVqaServiceDefaults(Name, configureBus);

        var configuration = builder.Configuration;
        var limits = configuration.GetSection(IngestionOptions.Section).Get<IngestionOptions>() ?? new IngestionOptions();
        var connectionString = configuration[$"{DatabaseOptions.Section}:{nameof(DatabaseOptions.ConnectionString)}"];
        if (string.IsNullOrEmpty(connectionString))
            throw new InvalidOperationException("VQA_POSTGRES is not set: the ingestion service needs PostgreSQL");

        var services = builder.Services;
        services.AddSingleton(limits);
        services.AddSingleton(TimeProvider.System);
        services.AddScoped<ImageIngestor>();
        services.AddSingleton<ArchiveExpander>();
        services.AddHttpClient<UrlDownloader>(UrlDownloader.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() =>
                OutboundAddressGuard.CreateHandler(limits.DownloadTimeout, limits.AllowPrivateNetworkUrls));
        services.AddOutboxDispatcher();
        services.Configure<FormOptions>(form => form.MultipartBodyLengthLimit = limits.MaxRequestBytes);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBytes);
        services.AddOpenApi();

        var app = builder.Build();
        app.MapVqaServiceDefaults();
        app.MapOpenApi();
        app.MapIngestionEndpoints();
        app.MapLabelEndpoints();
        app.MapTrainingRunEndpoints();
        app.MapJobEndpoints();
        return app;
    }
}
