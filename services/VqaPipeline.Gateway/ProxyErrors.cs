using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace VqaPipeline.Gateway;

/// <summary>
/// When the gateway cannot forward a request (the owning service is down, refuses the connection or does not answer in
/// time), YARP sets 502, 503 or 504 with an empty body; this says which service and why, as problem details.
/// </summary>
internal static class ProxyErrors
{
    /// <summary>The proxy pipeline step: runs the forwarding, then explains a failure to forward.</summary>
    public static async Task ExplainAsync(HttpContext context, Func<Task> next)
    {
        await next();
        if (context.GetForwarderErrorFeature() is not { } failure || context.Response.HasStarted)
            return;
        var owner = context.Features.Get<IReverseProxyFeature>()?.Cluster?.Config.ClusterId ?? "owning";
        var detail = failure.Error switch
        {
            ForwarderError.RequestTimedOut => $"the {owner} service did not answer in time",
            ForwarderError.NoAvailableDestinations => $"the {owner} service has no destination the gateway may use",
            ForwarderError.RequestCanceled => $"the request was cancelled before the {owner} service answered",
            _ => $"the {owner} service cannot be reached: try again when it is back",
        };
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = context.Response.StatusCode, Detail = detail },
        });
    }
}
