using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace VqaPipeline.Hosting;

/// <summary>Where each service listens when nothing says otherwise, and how every service host starts.</summary>
public static class ServiceHost
{
    /// <summary>The gateway: the one public base URL (<c>VQA_API_URL</c>).</summary>
    public const int GatewayPort = 5080;
    public const int IndexingPort = 5081;
    public const int PreprocessingPort = 5082;
    public const int InferencePort = 5083;
    public const int TrainingPort = 5084;
    public const int IngestionPort = 5085;

    /// <summary>
    /// The longest request line (method, path and query) every host takes: twice Kestrel's 8 KiB, so that a search
    /// whose question is too long for the index (up to 1,000 characters, each up to 9 bytes percent-encoded) reaches
    /// the check that says so with a 400, rather than a bare 414.
    /// </summary>
    public const int MaxRequestLineBytes = 16 * 1024;

    /// <summary>
    /// A builder for a service that listens on 127.0.0.1:<paramref name="defaultPort"/> unless <c>urls</c> (or
    /// <c>ASPNETCORE_URLS</c>) says otherwise: where a service listens is its own setting, never the public URL's.
    /// <paramref name="configure"/> runs before the service reads its settings (tests add theirs and their listening
    /// URL there).
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, int defaultPort, Action<WebApplicationBuilder>? configure)
    {
        // up.sh runs the dll from the repository root: appsettings.json is found next to the dll, not in the cwd.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
            builder.WebHost.UseUrls($"http://127.0.0.1:{defaultPort}");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestLineSize = MaxRequestLineBytes);
        builder.WebHost.UseJsonBodyLimit();
        configure?.Invoke(builder);
        VqaEnvironment.Apply(builder.Configuration);
        return builder;
    }
}

/// <summary>
/// Where the other services are (configuration section <c>Services</c>): <c>Api</c> is the public base URL, the
/// gateway's (<c>VQA_API_URL</c>); the others are each owner's own address, which the gateway routes to and services
/// call one another on.
/// </summary>
public sealed record ServiceAddresses
{
    public const string Section = "Services";

    public Uri Api { get; set; } = Local(ServiceHost.GatewayPort);
    public Uri Ingestion { get; set; } = Local(ServiceHost.IngestionPort);
    public Uri Preprocessing { get; set; } = Local(ServiceHost.PreprocessingPort);
    public Uri Inference { get; set; } = Local(ServiceHost.InferencePort);
    public Uri Training { get; set; } = Local(ServiceHost.TrainingPort);
    public Uri Indexing { get; set; } = Local(ServiceHost.IndexingPort);

    /// <summary>The addresses <paramref name="configuration"/> gives, defaults elsewhere.</summary>
    public static ServiceAddresses From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<ServiceAddresses>() ?? new ServiceAddresses();

    private static Uri Local(int port) => new($"http://127.0.0.1:{port}/");
}
