using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Model;
using VqaPipeline.Gateway.Data;

namespace VqaPipeline.Gateway.Auth;

/// <summary>Marks a gateway endpoint of its own (<c>/me</c>) as needing a key with at least <see cref="Role"/>.</summary>
public sealed record RequiresKey(Role Role);

/// <summary>
/// Which role a request needs, decided from the endpoint routing chose (never from the raw path, so case, trailing
/// slashes or encodings cannot reach a route past its check): every routed public route needs a key — reads
/// (GET, HEAD, OPTIONS) a viewer's, writes a member's, writes to training runs and models a trainer's, anything under
/// <c>/admin</c> an admin's. Endpoints that are neither routed nor marked (health, metrics, the OpenAPI document, the
/// API reference, the web page) are open.
/// </summary>
public static class RoutePermissions
{
    private static readonly string[] TrainerRoots = ["/training-runs", "/models"];

    /// <summary>The role <paramref name="context"/>'s endpoint needs, or null when it is open.</summary>
    public static Role? Required(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<RequiresKey>() is { } marked)
            return marked.Role;
        return endpoint?.Metadata.GetMetadata<RouteModel>() is { } route
            ? Required(route.Config.Match.Path ?? "", context.Request.Method)
            : null;
    }

    /// <summary>The role a request with <paramref name="method"/> to a public route of <paramref name="pattern"/> needs.</summary>
    public static Role Required(string pattern, string method)
    {
        if (IsUnder(pattern, "/admin"))
            return Role.Admin;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
            return Role.Viewer;
        return TrainerRoots.Any(root => IsUnder(pattern, root)) ? Role.Trainer : Role.Member;
    }

    private static bool IsUnder(string pattern, string root) =>
        pattern.Equals(root, StringComparison.OrdinalIgnoreCase) || pattern.StartsWith(root + "/", StringComparison.OrdinalIgnoreCase);
}
