using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Pipeline.Tests.Support;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Pipeline.Tests;

/// <summary>The one front door: every public route reaches its owner through the gateway, and one OpenAPI document covers them.</summary>
public sealed class GatewayTests(ApiOwnersStack owners) : IClassFixture<ApiOwnersStack>
{
    private ServiceStack Stack => owners.Stack;

    [StackFact]
    public async Task One_openapi_document_at_the_gateway_covers_every_public_route_of_every_owner()
    {
        using var document = JsonDocument.Parse(await Stack.Api.GetStringAsync("/openapi/v1.json"));

        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(path => path.Name).ToHashSet();
        Assert.Subset(paths, new HashSet<string>
        {
            "/collections", "/collections/{collectionId}", "/collections/{collectionId}/images", "/collections/{collectionId}/images/urls",
            "/collections/{collectionId}/labels", "/collections/{collectionId}/labels/{labelId}", "/collections/{collectionId}/labels/{labelId}/history",
            "/jobs", "/jobs/{jobId}", "/jobs/{jobId}/cancel", "/jobs/{jobId}/answers",
            "/training-runs", "/training-runs/{runId}", "/models", "/search", "/admin/replay",
        });
        Assert.DoesNotContain("Not included now", document.RootElement.GetProperty("info").GetProperty("description").GetString());
    }

    [StackFact]
    public async Task Every_paged_list_names_its_limit_and_cursor_in_the_openapi_document_and_nothing_else_does()
    {
        using var document = JsonDocument.Parse(await Stack.Api.GetStringAsync("/openapi/v1.json"));

        var withPaging = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
            foreach (var operation in path.Value.EnumerateObject())
            {
                var query = operation.Value.TryGetProperty("parameters", out var parameters)
                    ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query")
                        .Select(p => p.GetProperty("name").GetString()).ToHashSet()
                    : [];
                if (query.Contains("cursor"))
                {
                    Assert.Contains("limit", query);
                    withPaging.Add($"{operation.Name.ToUpperInvariant()} {path.Name}");
                }
            }

        Assert.Equal(new SortedSet<string>(StringComparer.Ordinal)
        {
            "GET /collections", "GET /collections/{collectionId}/images", "GET /collections/{collectionId}/labels",
            "GET /collections/{collectionId}/labels/{labelId}/history", "GET /models",
        }, withPaging);
    }

    [StackFact]
    public async Task Each_route_answers_from_its_owner_through_the_gateway_as_it_does_directly()
    {
        using var created = await Stack.Api.PostAsJsonAsync("/collections", new { name = $"gateway-{Guid.NewGuid():N}" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var collectionId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        foreach (var (path, owner) in new[]
                 {
                     ($"/collections/{collectionId}", Services.Ingestion), ($"/jobs/{Guid.NewGuid()}", Services.Inference),
                     ("/models", Services.Training), ($"/search?question=dog&answer=yes&collection={Guid.NewGuid()}", Services.Indexing),
                 })
        {
            using var viaGateway = await Stack.Api.GetAsync(path);
            // Directly as the gateway calls the owner: with the caller's team and the internal secret.
            using var direct = Stack.DirectClient(owner);
            using var fromOwner = await direct.GetAsync(path);
            Assert.Equal(fromOwner.StatusCode, viaGateway.StatusCode);
            // An error's trace id is the request's own; everything else is the owner's answer, untouched.
            Assert.Equal(WithoutTraceId(await fromOwner.Content.ReadAsStringAsync()), WithoutTraceId(await viaGateway.Content.ReadAsStringAsync()));
        }
        using var unknown = await Stack.Api.GetAsync("/nowhere");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    private static string WithoutTraceId(string body) =>
        System.Text.RegularExpressions.Regex.Replace(body, "\"traceId\":\"[^\"]*\"", "\"traceId\":\"\"");
}
