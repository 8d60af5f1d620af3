using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Metadata;

namespace VqaPipeline.Hosting;

/// <summary>
/// How large a request body may be. Every service's server refuses bodies over <see cref="JsonBodyBytes"/> (setting
/// <c>Limits:MaxJsonBodyBytes</c>, 1 MiB): JSON routes need no more. A route that takes more (uploads) says so with
/// <see cref="WithBodyLimit{TBuilder}"/>, which routing applies to the request before anything reads its body. A body
/// over the limit is a 413 problem details (through <see cref="ApiProblem"/>'s exception handler), before it is read whole.
/// </summary>
public static class RequestBodyLimits
{
    /// <summary>The setting of the server-wide limit.</summary>
    public const string JsonBodySetting = "Limits:MaxJsonBodyBytes";

    /// <summary>The server-wide limit when the setting is absent.</summary>
    public const long DefaultJsonBodyBytes = 1024 * 1024;

    /// <summary>The server-wide limit <paramref name="configuration"/> gives.</summary>
    public static long JsonBodyBytes(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        Microsoft.Extensions.Configuration.ConfigurationBinder.GetValue<long?>(configuration, JsonBodySetting) ?? DefaultJsonBodyBytes;

    /// <summary>Sets the server-wide limit of a service's host (read when the server starts, after tests add their settings).</summary>
    public static void UseJsonBodyLimit(this IWebHostBuilder webHost) =>
        webHost.ConfigureKestrel((context, kestrel) => kestrel.Limits.MaxRequestBodySize = JsonBodyBytes(context.Configuration));

    /// <summary>Lets these routes take bodies of up to <paramref name="bytes"/> (null: no limit) instead of the server's.</summary>
    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder builder, long? bytes) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new BodySizeLimit(bytes));

    private sealed record BodySizeLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;
}
