using VqaPipeline.Gateway.Auth;
using VqaPipeline.Hosting;

namespace VqaPipeline.Gateway;

/// <summary>
/// Builds the gateway: the public base URL (<c>VQA_API_URL</c>, <c>http://127.0.0.1:5080</c>) that routes every public
/// route to the service owning it (<see cref="PublicRoutes"/>) and serves one OpenAPI document covering them all.
/// Request bodies and status codes pass through untouched; every routed request needs an API key of a role that
/// allows it (<see cref="GatewayAuth"/>).
/// </summary>
public static class GatewayService
{
    public const string Name = "gateway";

    /// <summary>The gateway, not yet started; <paramref name="configure"/> runs before it reads its settings.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ServiceHost.CreateBuilder(args, ServiceHost.GatewayPort, configure);
        builder.AddVqaWebDefaults(Name);
        var addresses = ServiceAddresses.From(builder.Configuration);
        builder.Services.AddSingleton(addresses);
        builder.AddGatewayAuth();
        builder.Services.AddReverseProxy().LoadFromMemory(PublicRoutes.Routes(), PublicRoutes.Clusters(addresses))
            .AddTransforms(GatewayAuth.ForwardCaller).AddTransforms(OwnerRefusals.ExpectContinue);
        builder.Services.AddHttpClient<OpenApiDocuments>(client => client.Timeout = TimeSpan.FromSeconds(10));
        // Uploads are bounded by the ingestion service; the gateway must not cut them shorter.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = null);

        var app = builder.Build();
        app.MapVqaServiceDefaults();
        app.UseWebPage();
        app.UseGatewayAuth();
        app.MapGet(OpenApiDocuments.Path, async (OpenApiDocuments documents, CancellationToken cancellationToken) =>
            Results.Content((await documents.MergedAsync(cancellationToken)).ToJsonString(), "application/json"));
        app.MapApiReference();
        app.MapReverseProxy(proxy => proxy.Use(ProxyErrors.ExplainAsync));
        return app;
    }
}
