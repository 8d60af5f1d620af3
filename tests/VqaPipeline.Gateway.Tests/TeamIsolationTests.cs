using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Gateway.Tests;

/// <summary>
/// One team's key reaches nothing of another team's: every public route the gateway's OpenAPI document lists, called
/// with team B's admin key on team A's real resources, answers exactly as it answers an unknown id.
/// </summary>
public sealed class TeamIsolationTests(GatewayStack fixture) : IClassFixture<GatewayStack>
{
    private const string Question = "Is it red?";
    private static readonly string[] HttpMethods = ["get", "post", "put", "patch", "delete"];
    private static readonly string BaseModel = Fixtures.PathOf("vilt-tiny");

    /// <summary>Routes that name no resource in their path, body or query, and why the test leaves them out.</summary>
    private static readonly Dictionary<string, string> NamesNoResource = new()
    {
        ["POST /collections"] = "creates a collection of the caller's own team; it names nothing of another's",
        ["POST /admin/replay"] = "the operator's replay of logged messages: admin-only as before teams, it answers counts and returns no team's rows",
    };

    [StackFact]
    public async Task Every_public_route_called_with_another_teams_key_on_a_teams_resources_answers_as_for_an_unknown_id()
    {
        var teamA = await TeamAResourcesAsync();
        using var otherTeam = await OtherTeam.CreateAsync(fixture.Stack, "routes-b");
        var teamB = otherTeam.Api;
        var document = JsonNode.Parse(await teamB.GetStringAsync("/openapi/v1.json"))!;
        Assert.DoesNotContain("Not included now", document["info"]!["description"]!.GetValue<string>());

        var checkedRoutes = new List<string>();
        var failures = new List<string>();
        foreach (var (template, operations) in document["paths"]!.AsObject())
        foreach (var (method, operation) in operations!.AsObject().Where(entry => HttpMethods.Contains(entry.Key)))
        {
            var route = $"{method.ToUpperInvariant()} {template.TrimEnd('/')}";
            if (NamesNoResource.ContainsKey(route))
                continue;
            try
            {
                await CheckRouteAsync(teamB, teamA, route, method, template, operation!);
            }
            catch (Xunit.Sdk.XunitException failure)
            {
                // Every route is tried, so one run names every route that gives another team's resource away.
                failures.Add($"{route}: {failure.Message}");
            }
            checkedRoutes.Add(route);
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // The routes that exist today are all among those checked (the document is not silently missing owners).
        Assert.Superset(new HashSet<string> { "GET /collections/{collectionId}", "GET /jobs/{jobId}", "POST /jobs", "GET /search",
            "GET /training-runs/{runId}", "GET /collections" }, checkedRoutes.ToHashSet());
    }

    /// <summary>One route: on a resource named in its path, body or query, as for an unknown id; a list, none of A's rows.</summary>
    private static async Task CheckRouteAsync(HttpClient teamB, TeamAResources teamA, string route, string method, string template, JsonNode operation)
    {
        var parameters = PathParameters(template);
        if (parameters.Count > 0)
            await AssertUnknownToOtherTeamAsync(teamB, route, Request(method, template, parameters.ToDictionary(p => p, p => teamA.IdOf(route, p)), operation, teamA),
                Request(method, template, parameters.ToDictionary(p => p, _ => Guid.NewGuid()), operation, teamA));
        else if (CollectionInBodyOrQuery(route) is { } naming)
            await AssertUnknownToOtherTeamAsync(teamB, route, naming(teamA.Collection), naming(Guid.NewGuid()));
        else
        {
            Assert.True(method == "get", $"{route} names no resource in its path; say in this test what it names");
            // A list: the caller's own rows only.
            using var listed = await teamB.GetAsync(template);
            Assert.True(listed.StatusCode == HttpStatusCode.OK, $"{route}: {listed.StatusCode}");
            var body = await listed.Content.ReadAsStringAsync();
            Assert.All(teamA.All, id => Assert.DoesNotContain(id.ToString(), body, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>B's request on A's resource is 404 with the sentence of the unknown one, ids aside.</summary>
    private static async Task AssertUnknownToOtherTeamAsync(HttpClient teamB, string route, Sent onTeamA, Sent onUnknown)
    {
        var (found, foundDetail) = await SendAsync(teamB, onTeamA);
        var (unknown, unknownDetail) = await SendAsync(teamB, onUnknown);
        Assert.True(found == HttpStatusCode.NotFound, $"{route} with another team's key on its resource: {(int)found} {foundDetail}");
        Assert.True(unknown == HttpStatusCode.NotFound, $"{route} on an unknown id: {(int)unknown} {unknownDetail}");
        var expected = onUnknown.Ids.Zip(onTeamA.Ids).Aggregate(unknownDetail,
            (detail, ids) => detail.Replace(ids.First.ToString(), ids.Second.ToString(), StringComparison.OrdinalIgnoreCase));
        Assert.True(expected == foundDetail, $"{route}: '{foundDetail}' differs from the unknown id's '{unknownDetail}'");
    }

    private static async Task<(HttpStatusCode Status, string Detail)> SendAsync(HttpClient client, Sent sent)
    {
        using var response = await client.SendAsync(sent.Request());
        var text = await response.Content.ReadAsStringAsync();
        var detail = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
            ? JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString() ?? ""
            : text;
        return (response.StatusCode, detail);
    }

    /// <summary>A request to send (again: a message is sent once), and the ids it names, in order.</summary>
    private sealed record Sent(Func<HttpRequestMessage> Request, IReadOnlyList<Guid> Ids);

    /// <summary>The request of <paramref name="template"/> naming <paramref name="ids"/>, with a body its owner takes as valid.</summary>
    private static Sent Request(string method, string template, IReadOnlyDictionary<string, Guid> ids, JsonNode operation, TeamAResources teamA)
    {
        var path = ids.Aggregate(template, (text, id) => text.Replace($"{{{id.Key}}}", id.Value.ToString(), StringComparison.Ordinal));
        var content = operation["requestBody"]?["content"]?.AsObject();
        return new Sent(() => new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path)
        {
            Content = content is null ? null
                : content.ContainsKey("multipart/form-data") ? Upload()
                : JsonContent.Create(BodyOf($"{method.ToUpperInvariant()} {template.TrimEnd('/')}", teamA)),
        }, [.. ids.Values]);
    }

    /// <summary>A valid body for the JSON routes that take one (an empty object for those that take no fields).</summary>
    private static object BodyOf(string route, TeamAResources teamA) => route switch
    {
        "POST /collections/{collectionId}/labels" => new[] { new { imageId = teamA.Image, question = Question, answers = new[] { "yes" } } },
        "POST /collections/{collectionId}/images/urls" => new { urls = new[] { "http://127.0.0.1:9/red.png" } },
        "POST /collections/{collectionId}/imports" => new { bucket = "vqa-images", prefix = "nothing/" },
        _ => new { },
    };

    /// <summary>Routes without a path parameter whose body or query names a collection.</summary>
    private static Func<Guid, Sent>? CollectionInBodyOrQuery(string route) => route switch
    {
        "POST /jobs" => collection => new Sent(() => new HttpRequestMessage(HttpMethod.Post, "/jobs")
            { Content = JsonContent.Create(new { collectionId = collection, questions = new[] { Question } }) }, [collection]),
        "POST /training-runs" => collection => new Sent(() => new HttpRequestMessage(HttpMethod.Post, "/training-runs")
        {
            Content = JsonContent.Create(new { modelName = "other-team", dataset = new { collectionId = collection }, baseModel = BaseModel, maxSteps = 1, batchSize = 1 }),
        }, [collection]),
        "GET /search" => collection => new Sent(() => new HttpRequestMessage(HttpMethod.Get,
            $"/search?question={Uri.EscapeDataString(Question)}&answer=yes&collection={collection}"), [collection]),
        _ => null,
    };

    private static List<string> PathParameters(string template) =>
        System.Text.RegularExpressions.Regex.Matches(template, @"\{([^}:]+)[^}]*\}").Select(match => match.Groups[1].Value).ToList();

    private static MultipartFormDataContent Upload()
    {
        var form = new MultipartFormDataContent();
        var image = Fixtures.Images()[0];
        form.Add(new ByteArrayContent(File.ReadAllBytes(image)), "files", Path.GetFileName(image));
        return form;
    }

    /// <summary>Team A's resources, one of each kind, made through the API with the stack's key.</summary>
    private sealed record TeamAResources(Guid Collection, Guid Image, Guid Label, Guid Import, Guid Job, Guid Run)
    {
        public IEnumerable<Guid> All => [Collection, Image, Label, Import, Job, Run];

        public Guid IdOf(string route, string parameter) => parameter switch
        {
            "collectionId" => Collection,
            "imageId" => Image,
            "labelId" => Label,
            "importId" => Import,
            "jobId" => Job,
            "runId" => Run,
            _ => throw new Xunit.Sdk.XunitException($"{route}: no resource of team A for '{{{parameter}}}'; make one in TeamAResourcesAsync"),
        };
    }

    private async Task<TeamAResources> TeamAResourcesAsync()
    {
        var api = fixture.Stack.Api;
        var collection = await IdAsync(await api.PostAsJsonAsync("/collections", new { name = $"team-a-{Guid.NewGuid():N}" }), "id");
        using var uploaded = await api.PostAsync($"/collections/{collection}/images", Upload());
        Assert.True(uploaded.IsSuccessStatusCode, await uploaded.Content.ReadAsStringAsync());
        var image = (await uploaded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted")[0].GetProperty("imageId").GetGuid();
        using var labelled = await api.PostAsJsonAsync($"/collections/{collection}/labels", BodyOf("POST /collections/{collectionId}/labels",
            new TeamAResources(collection, image, Guid.Empty, Guid.Empty, Guid.Empty, Guid.Empty)));
        Assert.True(labelled.IsSuccessStatusCode, await labelled.Content.ReadAsStringAsync());
        var label = (await api.GetFromJsonAsync<JsonElement>($"/collections/{collection}/labels")).GetProperty("items")[0].GetProperty("id").GetGuid();
        var import = await IdAsync(await api.PostAsJsonAsync($"/collections/{collection}/imports", new { bucket = "vqa-images", prefix = "nothing/" }), "importId");
        var job = await IdAsync(await api.PostAsJsonAsync("/jobs", new { collectionId = collection, questions = new[] { Question }, model = BaseModel }), "id");
        var run = await IdAsync(await api.PostAsJsonAsync("/training-runs",
            new { modelName = "team-a", dataset = new { collectionId = collection }, baseModel = BaseModel, maxSteps = 1, batchSize = 1 }), "id");
        return new TeamAResources(collection, image, label, import, job, run);
    }

    private static async Task<Guid> IdAsync(HttpResponseMessage response, string member)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {text}");
            return JsonDocument.Parse(text).RootElement.GetProperty(member).GetGuid();
        }
    }
}
