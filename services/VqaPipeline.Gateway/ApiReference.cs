using Scalar.AspNetCore;

namespace VqaPipeline.Gateway;

/// <summary>
/// The API reference page, <c>/api-reference</c>: Scalar rendering the merged OpenAPI document. Its script is the
/// one bundled in Scalar.AspNetCore, served by the gateway; nothing is fetched from a CDN (fonts included), and the
/// page reports nothing anywhere, so it works where the gateway has no internet.
/// </summary>
public static class ApiReference
{
    /// <summary>Where the page is.</summary>
    public const string Path = "/api-reference";

    /// <summary>Maps the page at <see cref="Path"/>.</summary>
    public static IEndpointConventionBuilder MapApiReference(this IEndpointRouteBuilder app) =>
        app.MapScalarApiReference(Path, options => options
            .WithTitle("VqaPipeline API")
            .WithOpenApiRoutePattern(OpenApiDocuments.Path)
            .DisableDefaultFonts()
            .DisableTelemetry()
            .DisableAgent()
            .DisableMcp());
}
