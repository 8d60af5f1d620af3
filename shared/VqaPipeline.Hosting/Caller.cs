using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace VqaPipeline.Hosting;

/// <summary>
/// Who called an API route, as the gateway says (<see cref="GatewayHeaders"/>): the team of the caller's API key,
/// which owns what the request reads and writes, and the key's role. A handler takes it as a parameter
/// (<see cref="BindAsync"/>) or from <see cref="CallerAccess.Caller(HttpContext)"/>.
/// </summary>
/// <param name="TeamId">The team's id; <see cref="Guid.Empty"/> is the team that adopted the data stored before teams.</param>
/// <param name="Team">The team's name.</param>
/// <param name="Role">The key's role: viewer, member, trainer or admin.</param>
public sealed record Caller(Guid TeamId, string Team, string Role)
{
    /// <summary>The detail of the 401 a service answers to a request that did not come through the gateway.</summary>
    public const string NotThroughGatewayDetail = "this service answers API requests only through the gateway";

    /// <summary>Binds a handler's <see cref="Caller"/> parameter; a request without one is answered 401.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context) => ValueTask.FromResult<Caller?>(context.Caller());
}

/// <summary>How API routes demand a <see cref="Caller"/> and how handlers read it.</summary>
public static class CallerAccess
{
    private static readonly object ItemKey = new();

    /// <summary>
    /// Answers every request of these routes that did not come through the gateway (no secret, wrong secret, no team)
    /// with 401 problem details. Health, metrics and OpenAPI are not API routes and stay open.
    /// </summary>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (invocation, next) =>
            Find(invocation.HttpContext) is null
                ? ApiProblem.Of(StatusCodes.Status401Unauthorized, Hosting.Caller.NotThroughGatewayDetail)
                : await next(invocation));

    /// <summary>
    /// The caller of this request.
    /// </summary>
    /// <exception cref="BadHttpRequestException">
    /// With status 401 (problem details through the exception handler) when the request did not come through the gateway.
    /// </exception>
    public static Caller Caller(this HttpContext context) =>
        Find(context) ?? throw new BadHttpRequestException(Hosting.Caller.NotThroughGatewayDetail, StatusCodes.Status401Unauthorized);

    private static Caller? Find(HttpContext context)
    {
        if (context.Items.TryGetValue(ItemKey, out var known) && known is Caller caller)
            return caller;
        var secret = context.RequestServices.GetRequiredService<IConfiguration>()[GatewayHeaders.InternalSecretSetting];
        if (GatewayHeaders.CallerOf(context.Request, secret) is not { } found)
            return null;
        context.Items[ItemKey] = found;
        return found;
    }
}
