using System.Text.Json.Nodes;
using VqaPipeline.Hosting;

namespace VqaPipeline.Gateway;

/// <summary>
/// One OpenAPI document for the whole public API: each owner's own document (<c>/openapi/v1.json</c>), its paths and
/// schemas merged into one. An owner that cannot be reached is named in the document's description rather than
/// failing the whole document.
/// </summary>
public sealed class OpenApiDocuments(HttpClient http, ServiceAddresses addresses)
{
    public const string Path = "/openapi/v1.json";

    public async Task<JsonObject> MergedAsync(CancellationToken cancellationToken)
    {
        var paths = new JsonObject();
        var schemas = new JsonObject();
        var missing = new List<string>();
        foreach (var owner in PublicRoutes.Table.Select(entry => entry.Owner))
        {
            JsonNode? document;
            try
            {
                document = JsonNode.Parse(await http.GetStringAsync(new Uri(PublicRoutes.AddressOf(addresses, owner), Path), cancellationToken));
            }
            catch (Exception exception) when (exception is HttpRequestException or System.Text.Json.JsonException
                                              || (exception is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                missing.Add(owner);
                continue;
            }
            foreach (var (path, operations) in document?["paths"]?.AsObject() ?? [])
                paths[path] = operations?.DeepClone();
            foreach (var (name, schema) in document?["components"]?["schemas"]?.AsObject() ?? [])
                schemas[name] ??= schema?.DeepClone();
        }
        var description = "Every public route of VqaPipeline, served by the gateway and routed to the service that owns it.";
        if (missing.Count > 0)
            description += $" Not included now (service unreachable): {string.Join(", ", missing)}.";
        return new JsonObject
        {
            ["openapi"] = "3.1.1",
            ["info"] = new JsonObject { ["title"] = "VqaPipeline", ["version"] = "v1", ["description"] = description },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }
}
