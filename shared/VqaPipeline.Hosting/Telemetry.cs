using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Sinks.OpenTelemetry;
using VqaPipeline.Messaging;

namespace VqaPipeline.Hosting;

/// <summary>
/// Traces, metrics and the OTLP export of every service. Spans are always recorded (so logs and error responses carry
/// a trace id) and exported over OTLP only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (with the standard
/// <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>); the logs then go there too.
/// </summary>
public static class Telemetry
{
    /// <summary>The standard setting naming the OTLP endpoint; nothing is exported without it.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The standard setting naming the OTLP protocol: <c>grpc</c> (the default) or <c>http/protobuf</c>.</summary>
    public const string OtlpProtocolSetting = "OTEL_EXPORTER_OTLP_PROTOCOL";

    /// <summary>
    /// The activity sources every service records besides its instrumentations' (ASP.NET Core's server spans,
    /// HttpClient's client spans, Npgsql's commands): MassTransit's send/receive/consume spans and the outbox's and
    /// inbox's own.
    /// </summary>
    public static readonly string[] Sources = ["MassTransit", TraceContext.SourceName];

    /// <summary>The meters exported on <c>/metrics</c>.</summary>
    public static readonly string[] Meters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime", "System.Net.Http", "MassTransit", "VqaPipeline.*"];

    /// <summary>The Serilog console template: each line carries the trace id of the work that wrote it.</summary>
    public const string ConsoleTemplate = "[{Timestamp:HH:mm:ss} {Level:u3} {TraceId}] {Message:lj}{NewLine}{Exception}";

    /// <summary>Whether spans and logs are exported over OTLP (<see cref="OtlpEndpointSetting"/> is set).</summary>
    public static bool Exports(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration[OtlpEndpointSetting]);

    internal static void Add(IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        var exports = Exports(configuration);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics => metrics.AddMeter(Meters).AddPrometheusExporter())
            .WithTracing(tracing =>
            {
                tracing.AddSource(Sources)
                    .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsProbe(context.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddNpgsql();
                if (exports)
                    tracing.AddOtlpExporter();
            });
    }

    /// <summary>Sends the logs over OTLP too, with their trace and span ids, when export is configured.</summary>
    internal static void AddLogExport(LoggerConfiguration logger, IConfiguration configuration, string serviceName)
    {
        if (!Exports(configuration))
            return;
        logger.WriteTo.OpenTelemetry(options =>
        {
            options.Endpoint = configuration[OtlpEndpointSetting]!;
            options.Protocol = configuration[OtlpProtocolSetting] == "http/protobuf" ? OtlpProtocol.HttpProtobuf : OtlpProtocol.Grpc;
            options.ResourceAttributes = new Dictionary<string, object> { ["service.name"] = serviceName };
        });
    }

    /// <summary>Health probes and metric scrapes: frequent, and no one follows their traces.</summary>
    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments(ServiceDefaults.MetricsPath);
}
