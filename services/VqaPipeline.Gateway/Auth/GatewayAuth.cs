using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using VqaPipeline.Data;
using VqaPipeline.Gateway.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Hosting.Health;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace VqaPipeline.Gateway.Auth;

/// <summary>Per-team request rate at the gateway (configuration section <c>Gateway:RateLimit</c>).</summary>
public sealed record RateLimitOptions
{
    public const string Section = "Gateway:RateLimit";

    /// <summary>Requests a team may make per second, sustained.</summary>
    public int RequestsPerSecond { get; set; } = 1000;

    /// <summary>Requests a team may make at once above the sustained rate.</summary>
    public int Burst { get; set; } = 2000;
}

/// <summary>
/// Teams, keys and roles at the gateway: every routed public route needs <c>Authorization: Bearer &lt;key&gt;</c>
/// (<see cref="RoutePermissions"/> says which role), 401 without a working key, 403 without the role, 429 past the
/// team's rate; the owner gets the caller's team and role in <c>X-Vqa-*</c> headers with the internal secret
/// (<c>Gateway:InternalSecret</c>), and never a client's own <c>X-Vqa-*</c> headers or its key.
/// </summary>
public static class GatewayAuth
{
    /// <summary>The gateway's own route that tells a key's holder who they are.</summary>
    public const string MePath = "/me";

    public const string TeamIdHeader = GatewayHeaders.TeamId;
    public const string TeamHeader = GatewayHeaders.Team;
    public const string RoleHeader = GatewayHeaders.Role;
    public const string SecretHeader = GatewayHeaders.Secret;
    public const string InternalSecretSetting = GatewayHeaders.InternalSecretSetting;

    /// <summary>
    /// Registers the gateway's schema (<c>VQA_POSTGRES</c>, the <c>vqa_gateway</c> role; migrated on start), the key
    /// check, the per-team rate limiter and the database readiness check.
    /// </summary>
    public static WebApplicationBuilder AddGatewayAuth(this WebApplicationBuilder builder)
    {
        var connectionString = ServiceDbContext.WithSearchPath(Persistence.ConnectionString(builder.Configuration), GatewayDbContext.SchemaName);
        var services = builder.Services;
        services.AddHostedService(_ => new SchemaMigration(connectionString));
        services.AddPooledDbContextFactory<GatewayDbContext>(options => options.UseNpgsql(connectionString,
            npgsql => npgsql.MigrationsHistoryTable(ServiceDbContext.MigrationsHistoryTable, GatewayDbContext.SchemaName)));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ApiKeyAuthenticator>();

        services.AddOptions<DatabaseOptions>().Bind(builder.Configuration.GetSection(DatabaseOptions.Section));
        var serviceOptions = builder.Configuration.GetSection(ServiceOptions.Section).Get<ServiceOptions>() ?? new ServiceOptions();
        services.AddHealthChecks().Add(new HealthCheckRegistration(VqaHealthChecks.Database,
            provider => provider.GetRequiredKeyedService<IHealthCheck>(VqaHealthChecks.Database), HealthStatus.Unhealthy,
            [VqaHealthChecks.ReadyTag], serviceOptions.HealthCheckTimeout));

        var rate = builder.Configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();
        if (rate.RequestsPerSecond <= 0 || rate.Burst <= 0)
            throw new InvalidOperationException($"{RateLimitOptions.Section}: RequestsPerSecond and Burst must be positive");
        services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, Guid>(context =>
                context.Features.Get<Caller>() is { } caller
                    ? RateLimitPartition.GetTokenBucketLimiter(caller.TeamId, _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = rate.Burst, TokensPerPeriod = rate.RequestsPerSecond,
                        // The partitioned limiter replenishes every bucket on one 100 ms timer, not a timer per team.
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0, AutoReplenishment = false,
                    })
                    : RateLimitPartition.GetNoLimiter(Guid.Empty));
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var team = rejected.HttpContext.Features.Get<Caller>()?.Team;
                await ProblemAsync(rejected.HttpContext, StatusCodes.Status429TooManyRequests,
                    $"team '{team}' is over its rate of {rate.RequestsPerSecond} requests per second; retry in {seconds} s");
            };
        });
        return builder;
    }

    /// <summary>
    /// Adds the key check and the rate limiter to <paramref name="app"/>'s pipeline (after routing, so the check knows
    /// the route) and maps <c>GET /me</c>. Call it before mapping the proxy.
    /// </summary>
    public static WebApplication UseGatewayAuth(this WebApplication app)
    {
        app.UseRouting();
        app.Use(AuthenticateAsync);
        app.UseRateLimiter();
        app.MapGet(MePath, (HttpContext context) => context.Features.Get<Caller>() is { } caller
                ? Results.Ok(new MeResponse(caller.Team, caller.TeamId, LowerCaseEnum.Text(caller.Role), caller.KeyPrefix))
                : Results.Unauthorized())
            .WithMetadata(new RequiresKey(Role.Viewer));
        return app;
    }

    /// <summary>
    /// The proxy's request transform: drops the client's <c>X-Vqa-*</c> headers and its key, and tells the owner who
    /// calls (team id, team name, role, key prefix) with the internal secret that shows the gateway sent it.
    /// </summary>
    public static void ForwardCaller(TransformBuilderContext transforms)
    {
        var secret = transforms.Services.GetRequiredService<IConfiguration>()[InternalSecretSetting];
        transforms.AddRequestTransform(context =>
        {
            var headers = context.ProxyRequest.Headers;
            foreach (var name in headers.Select(header => header.Key)
                         .Where(name => name.StartsWith(GatewayHeaders.Prefix, StringComparison.OrdinalIgnoreCase)).ToList())
                headers.Remove(name);
            headers.Authorization = null;
            if (context.HttpContext.Features.Get<Caller>() is { } caller)
            {
                headers.Add(TeamIdHeader, caller.TeamId.ToString());
                headers.Add(TeamHeader, caller.Team);
                headers.Add(RoleHeader, LowerCaseEnum.Text(caller.Role));
                headers.Add(GatewayHeaders.KeyPrefix, caller.KeyPrefix);
            }
            if (!string.IsNullOrEmpty(secret))
                headers.Add(SecretHeader, secret);
            return ValueTask.CompletedTask;
        });
    }

    private static async Task AuthenticateAsync(HttpContext context, RequestDelegate next)
    {
        if (RoutePermissions.Required(context) is not { } required)
        {
            await next(context);
            return;
        }
        var authorization = context.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            await UnauthorizedAsync(context, "this route needs an API key: send 'Authorization: Bearer <key>' (see docs/api-keys.md)");
            return;
        }
        var authenticator = context.RequestServices.GetRequiredService<ApiKeyAuthenticator>();
        if (await authenticator.AuthenticateAsync(authorization["Bearer ".Length..].Trim(), context.RequestAborted) is not { } caller)
        {
            await UnauthorizedAsync(context, "the API key is unknown, expired or revoked");
            return;
        }
        if (caller.Role < required)
        {
            await ProblemAsync(context, StatusCodes.Status403Forbidden,
                $"key {caller.KeyPrefix} has role {LowerCaseEnum.Text(caller.Role)}; {context.Request.Method} {context.Request.Path} needs {LowerCaseEnum.Text(required)}");
            return;
        }
        context.Features.Set(caller);
        await next(context);
    }

    private static Task UnauthorizedAsync(HttpContext context, string detail)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return ProblemAsync(context, StatusCodes.Status401Unauthorized, detail);
    }

    /// <summary>An RFC 7807 problem with <paramref name="detail"/>, repeated as <c>error</c> for older clients.</summary>
    private static Task ProblemAsync(HttpContext context, int status, string detail) =>
        ApiProblem.Of(status, detail).ExecuteAsync(context);

    /// <summary>The answer of <c>GET /me</c>.</summary>
    public sealed record MeResponse(string Team, Guid TeamId, string Role, string KeyPrefix);

    private sealed class SchemaMigration(string connectionString) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            DatabaseMigrator.MigrateAsync<GatewayDbContext>(connectionString, GatewayDbContext.SchemaName,
                options => new GatewayDbContext(options), cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
