using System.Text.RegularExpressions;

namespace VqaPipeline.Ml.Tests.Docs;

/// <summary>
/// The routes the gateway and each service answer, read from the sources that define them — the gateway's routing
/// table (<c>services/VqaPipeline.Gateway/PublicRoutes.cs</c>), the ports (<c>ServiceHost.cs</c>), the health and
/// metrics paths every host maps (<c>ServiceDefaults.cs</c>) and the OpenAPI document's path — as text, so the engine's
/// tests need no reference to the web services.
/// </summary>
internal static partial class PublicApiRoutes
{
    private static readonly Lazy<IReadOnlyList<(string Owner, string Pattern)>> OwnedRoutes = new(ReadRoutingTable);
    private static readonly Lazy<IReadOnlyDictionary<int, string>> Ports = new(ReadPorts);
    private static readonly Lazy<IReadOnlyList<string>> HostPaths = new(ReadHostPaths);

    /// <summary>The service listening on <paramref name="port"/> by default (<c>gateway</c> on 5080), if any.</summary>
    public static string? ServiceOn(int port) => Ports.Value.GetValueOrDefault(port);

    /// <summary>The owners the gateway's routing table names.</summary>
    public static IEnumerable<string> Owners => OwnedRoutes.Value.Select(route => route.Owner).Distinct();

    /// <summary>Whether <paramref name="service"/> answers <paramref name="path"/> (the gateway: every owner's routes).</summary>
    public static bool Serves(string service, string path) =>
        PatternsOf(service).Any(pattern => Matches(pattern, path));

    /// <summary>
    /// The route patterns <paramref name="service"/> answers: the gateway every public route, its own OpenAPI document
    /// and the host paths; an owner its routes, its OpenAPI document and the host paths; preprocessing the host paths.
    /// </summary>
    public static IEnumerable<string> PatternsOf(string service)
    {
        var owned = OwnedRoutes.Value.Where(route => service == "gateway" || route.Owner == service).Select(route => route.Pattern).ToList();
        if (owned.Count > 0)
            owned.Add(OpenApiPath);
        if (service == "gateway")
            owned.AddRange(GatewayOwnPaths.Value);
        return owned.Concat(HostPaths.Value);
    }

    /// <summary>The routes the gateway answers itself besides the OpenAPI document (<c>/me</c>).</summary>
    private static readonly Lazy<IReadOnlyList<string>> GatewayOwnPaths = new(() =>
        PathConstantPattern().Matches(Source("services/VqaPipeline.Gateway/Auth/GatewayAuth.cs")).Select(path => path.Groups["value"].Value).ToList());

    private static string OpenApiPath =>
        ConstantPattern().Matches(Source("services/VqaPipeline.Gateway/OpenApiDocuments.cs")).Single().Groups["value"].Value;

    /// <summary>A YARP pattern: literal, or ending in <c>/{**rest}</c> for everything below it.</summary>
    private static bool Matches(string pattern, string path)
    {
        const string catchAll = "/{**rest}";
        return pattern.EndsWith(catchAll, StringComparison.Ordinal)
            ? path.StartsWith(pattern[..^catchAll.Length] + "/", StringComparison.Ordinal) && path.Length > pattern.Length - catchAll.Length + 1
            : path == pattern;
    }

    private static IReadOnlyList<(string, string)> ReadRoutingTable() =>
        (from Match entry in RouteEntryPattern().Matches(Source("services/VqaPipeline.Gateway/PublicRoutes.cs"))
         from Match path in QuotedPattern().Matches(entry.Groups["paths"].Value)
         select (entry.Groups["owner"].Value, path.Groups["value"].Value)).ToList();

    private static IReadOnlyDictionary<int, string> ReadPorts() =>
        PortPattern().Matches(Source("shared/VqaPipeline.Hosting/ServiceHost.cs"))
            .ToDictionary(port => int.Parse(port.Groups["port"].Value), port => port.Groups["service"].Value.ToLowerInvariant());

    private static IReadOnlyList<string> ReadHostPaths() =>
        PathConstantPattern().Matches(Source("shared/VqaPipeline.Hosting/ServiceDefaults.cs")).Select(path => path.Groups["value"].Value).ToList();

    private static string Source(string relativePath) => File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, relativePath));

    [GeneratedRegex(@"\(""(?<owner>[a-z]+)"",\s*\[(?<paths>[^\]]*)\]\)")]
    private static partial Regex RouteEntryPattern();

    [GeneratedRegex(@"""(?<value>/[^""]*)""")]
    private static partial Regex QuotedPattern();

    [GeneratedRegex(@"const int (?<service>[A-Za-z]+)Port = (?<port>\d+);")]
    private static partial Regex PortPattern();

    [GeneratedRegex(@"const string \w+Path = ""(?<value>/[^""]*)"";")]
    private static partial Regex PathConstantPattern();

    [GeneratedRegex(@"const string Path = ""(?<value>/[^""]*)"";")]
    private static partial Regex ConstantPattern();
}
