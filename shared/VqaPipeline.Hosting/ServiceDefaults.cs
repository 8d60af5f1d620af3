using System.Globalization;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Events;
using VqaPipeline.Hosting.Health;
using VqaPipeline.Hosting.Monitoring;
using VqaPipeline.Messaging;
using VqaPipeline.Messaging.Redelivery;
using VqaPipeline.Messaging.Replay;

namespace VqaPipeline.Hosting;

/// <summary>What every VqaPipeline service shares: settings, logging, the message bus, health, metrics, shutdown.</summary>
public static class ServiceDefaults
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Adds the shared service wiring. <paramref name="configureBus"/> registers the service's consumers; every
    /// consumer gets a receive endpoint on RabbitMQ with exponential retry, then delayed redelivery for transient
    /// faults and parking past the delivery limit (see <see cref="RedeliveryFilter{TMessage}"/>), and runs behind the
    /// inbox filter (its inbox and event log; see <see cref="VqaPipeline.Messaging.Inbox.InboxFilter{TMessage}"/>).
    /// </summary>
    public static TBuilder AddVqaServiceDefaults<TBuilder>(
        this TBuilder builder, string serviceName, Action<IBusRegistrationConfigurator>? configureBus = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        var configuration = builder.Configuration;
        VqaEnvironment.Apply(configuration);

        var services = builder.Services;
        services.AddOptions<BrokerOptions>().Bind(configuration.GetSection(BrokerOptions.Section));
        services.AddOptions<DelayedRedeliveryOptions>().Bind(configuration.GetSection(DelayedRedeliveryOptions.Section));
        services.AddOptions<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.Section));
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section));
        services.AddOptions<ServiceOptions>().Bind(configuration.GetSection(ServiceOptions.Section));
        var serviceOptions = configuration.GetSection(ServiceOptions.Section).Get<ServiceOptions>() ?? new ServiceOptions();

        AddLogging(services, configuration, serviceName, serviceOptions);
        // A service with a database answers replay requests for what it published (see AddServiceDatabase).
        var replays = services.Any(service => service.ServiceType == typeof(ReplaySource));
        AddBus(services, serviceOptions, bus =>
        {
            if (replays)
                bus.AddVqaReplayResponder(serviceName);
            configureBus?.Invoke(bus);
        });
        AddHealthChecks(services, configuration, serviceOptions, withDependencies: true);
        Telemetry.Add(services, configuration, serviceName);
        services.AddVqaProblemDetails();
        services.Configure<HostOptions>(host => host.ShutdownTimeout = serviceOptions.ShutdownTimeout);
        return builder;
    }

    /// <summary>
    /// The wiring of a service without a bus or a database (the gateway): settings, logging, health, metrics, shutdown.
    /// </summary>
    public static TBuilder AddVqaWebDefaults<TBuilder>(this TBuilder builder, string serviceName) where TBuilder : IHostApplicationBuilder
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        VqaEnvironment.Apply(builder.Configuration);
        var services = builder.Services;
        services.AddOptions<ServiceOptions>().Bind(builder.Configuration.GetSection(ServiceOptions.Section));
        var serviceOptions = builder.Configuration.GetSection(ServiceOptions.Section).Get<ServiceOptions>() ?? new ServiceOptions();
        AddLogging(services, builder.Configuration, serviceName, serviceOptions);
        // Its readiness is its own: it keeps no state, and each owner reports its dependencies itself.
        AddHealthChecks(services, builder.Configuration, serviceOptions, withDependencies: false);
        Telemetry.Add(services, builder.Configuration, serviceName);
        services.AddVqaProblemDetails();
        services.Configure<HostOptions>(host => host.ShutdownTimeout = serviceOptions.ShutdownTimeout);
        return builder;
    }

    /// <summary>Maps <c>/health/live</c>, <c>/health/ready</c> and the Prometheus scraping endpoint <c>/metrics</c>.</summary>
    public static TApp MapVqaServiceDefaults<TApp>(this TApp app) where TApp : IEndpointRouteBuilder
    {
        // Liveness runs no check: the process answering is the whole answer.
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(VqaHealthChecks.ReadyTag),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }

    private static void AddLogging(IServiceCollection services, IConfiguration configuration, string serviceName, ServiceOptions options) =>
        services.AddSerilog((provider, logger) =>
        {
            logger.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
                .ReadFrom.Configuration(provider.GetRequiredService<IConfiguration>())
                .Enrich.FromLogContext()
                .Enrich.WithProperty("Service", serviceName)
                .WriteTo.Console(outputTemplate: Telemetry.ConsoleTemplate, formatProvider: CultureInfo.InvariantCulture);
            Telemetry.AddLogExport(logger, configuration, serviceName);
            if (options.SeqUrl is { } seqUrl)
                logger.WriteTo.Seq(seqUrl.ToString(), formatProvider: CultureInfo.InvariantCulture,
                    apiKey: string.IsNullOrWhiteSpace(options.SeqApiKey) ? null : options.SeqApiKey,
                    messageHandler: new TimeoutHandler(options.SeqTimeout));
        }, preserveStaticLogger: true); // each host owns its logger, so hosts sharing a process (tests) stay apart

    private static void AddBus(IServiceCollection services, ServiceOptions serviceOptions,
        Action<IBusRegistrationConfigurator>? configureBus)
    {
        services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            configureBus?.Invoke(bus);
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var broker = context.GetRequiredService<IOptions<BrokerOptions>>().Value;
                rabbit.Host(broker.Url, host =>
                {
                    if (broker.Heartbeat is { } heartbeat)
                        host.Heartbeat(heartbeat);
                });
                rabbit.PrefetchCount = broker.PrefetchCount;
                // Immediate retries, then delayed redelivery or parking, all in one filter: MassTransit's retry
                // filter would wrap it, so it could not act once the retries are spent.
                rabbit.UseConsumeFilter(typeof(RedeliveryFilter<>), context);
                rabbit.UseVqaInbox(context);
                rabbit.ConfigureEndpoints(context);
            });
        });
        services.Configure<MassTransitHostOptions>(host => host.StopTimeout = serviceOptions.ShutdownTimeout);
        services.AddSingleton(provider => new DelayQueues(provider.GetRequiredService<IOptions<BrokerOptions>>().Value.Url));
        MessagingServices.AddMessagingMetrics(services);
        QueueDepthMonitor.Add(services);
    }

    private static void AddHealthChecks(IServiceCollection services, IConfiguration configuration, ServiceOptions options, bool withDependencies)
    {
        services.AddHttpClient(nameof(StorageHealthCheck), client => client.Timeout = options.HealthCheckTimeout);
        services.TryAddKeyedSingleton<IHealthCheck, BrokerHealthCheck>(VqaHealthChecks.Broker);
        services.TryAddKeyedSingleton<IHealthCheck, DatabaseHealthCheck>(VqaHealthChecks.Database);
        services.TryAddKeyedSingleton<IHealthCheck, StorageHealthCheck>(VqaHealthChecks.Storage);

        var checks = services.AddHealthChecks();
        if (!withDependencies)
            return;
        checks.Add(ReadinessCheck(VqaHealthChecks.Broker, options));
        // A service without a database or object store configured does not depend on one.
        if (!string.IsNullOrEmpty(configuration[$"{DatabaseOptions.Section}:{nameof(DatabaseOptions.ConnectionString)}"]))
            checks.Add(ReadinessCheck(VqaHealthChecks.Database, options));
        if (!string.IsNullOrEmpty(configuration[$"{StorageOptions.Section}:{nameof(StorageOptions.Endpoint)}"]))
            checks.Add(ReadinessCheck(VqaHealthChecks.Storage, options));
    }

    private static HealthCheckRegistration ReadinessCheck(string name, ServiceOptions options) =>
        new(name, provider => provider.GetRequiredKeyedService<IHealthCheck>(name), HealthStatus.Unhealthy,
            [VqaHealthChecks.ReadyTag], options.HealthCheckTimeout);
}
