using VqaPipeline.Hosting;
using Yarp.ReverseProxy.Configuration;

namespace VqaPipeline.Gateway;

/// <summary>Every public route and the service that owns it: the routing table of the front door, in one place.</summary>
public static class PublicRoutes
{
    /// <summary>(owner, path patterns) — a pattern ending in <c>/{**rest}</c> covers everything below it.</summary>
    public static IReadOnlyList<(string Owner, string[] Paths)> Table { get; } =
    [
        ("ingestion", ["/collections", "/collections/{**rest}"]),
        ("inference", ["/jobs", "/jobs/{**rest}"]),
        ("training", ["/training-runs", "/training-runs/{**rest}", "/models", "/models/{**rest}"]),
        ("indexing", ["/search", "/admin/replay"]),
    ];

    /// <summary>The owners' addresses, as <see cref="ServiceAddresses"/> names them.</summary>
    public static Uri AddressOf(ServiceAddresses addresses, string owner) => owner switch
    {
        "ingestion" => addresses.Ingestion,
        "inference" => addresses.Inference,
        "training" => addresses.Training,
        "indexing" => addresses.Indexing,
        _ => throw new ArgumentOutOfRangeException(nameof(owner), owner, "no such service"),
    };

    /// <summary>YARP routes: one per path pattern, to the owner's cluster.</summary>
    public static IReadOnlyList<RouteConfig> Routes() =>
        Table.SelectMany(entry => entry.Paths.Select((path, index) => new RouteConfig
        {
            RouteId = $"{entry.Owner}-{index}",
            ClusterId = entry.Owner,
            Match = new RouteMatch { Path = path },
        })).ToList();

    /// <summary>YARP clusters: one destination per owner.</summary>
    public static IReadOnlyList<ClusterConfig> Clusters(ServiceAddresses addresses) =>
        Table.Select(entry => new ClusterConfig
        {
            ClusterId = entry.Owner,
            Destinations = new Dictionary<string, DestinationConfig>
            {
                [entry.Owner] = new() { Address = AddressOf(addresses, entry.Owner).ToString() },
            },
            // Uploads and exports can take long; the owners bound their own work.
            HttpRequest = new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(10) },
        }).ToList();
}
