using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using VqaPipeline.Gateway.Auth;

namespace VqaPipeline.Gateway.Tests;

/// <summary>Keys and roles at the gateway: who may call which public route, and what the owners are told.</summary>
public sealed class KeyAndRoleTests(GatewayStack fixture) : IClassFixture<GatewayStack>
{
    private static readonly HttpMethod[] Writes = [HttpMethod.Post, HttpMethod.Put, HttpMethod.Patch, HttpMethod.Delete];

    /// <summary>A concrete path for every path pattern of the routing table.</summary>
    public static IEnumerable<string> EveryRoutedPath() =>
        PublicRoutes.Table.SelectMany(entry => entry.Paths)
            .Select(pattern => pattern.Replace("{**rest}", Guid.NewGuid().ToString(), StringComparison.Ordinal));

    /// <summary>Every routed path with every method, and the gateway's own <c>GET /me</c>.</summary>
    public static IEnumerable<(HttpMethod Method, string Path)> EveryProtectedRequest() =>
        EveryRoutedPath().SelectMany(path => Writes.Prepend(HttpMethod.Get).Select(method => (method, path)))
            .Append((HttpMethod.Get, GatewayAuth.MePath));

    [StackFact]
    public async Task Every_public_route_without_a_working_key_is_401_problem_details()
    {
        var unknownKey = ApiKeyText.Generate().Key;
        foreach (var key in new[] { null, "not-a-key", unknownKey })
        {
            using var client = fixture.ClientWithKey(key);
            foreach (var (method, path) in EveryProtectedRequest())
            {
                using var response = await client.SendAsync(new HttpRequestMessage(method, path));
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with key '{key}': {response.StatusCode}");
                await AssertProblemAsync(response, 401, key is null ? "needs an API key" : "unknown, expired or revoked");
                Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
            }
        }
        // A different case or a trailing slash reaches the same route, and the same check.
        foreach (var variant in new[] { "/COLLECTIONS", "/collections/", "/Admin/Replay", "/search/" })
        {
            using var anonymous = fixture.ClientWithKey(null);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync(variant, null)).StatusCode);
        }
    }

    [StackFact]
    public async Task Health_metrics_and_the_openapi_document_answer_without_a_key()
    {
        using var anonymous = fixture.ClientWithKey(null);
        foreach (var path in new[] { "/health/live", "/health/ready", "/metrics", "/openapi/v1.json" })
            Assert.True((await anonymous.GetAsync(path)).IsSuccessStatusCode, path);
    }

    [StackFact]
    public async Task A_viewer_reads_every_route_but_every_write_and_admin_route_is_403()
    {
        using var viewer = await fixture.ClientWithRoleAsync("viewer");
        foreach (var path in EveryRoutedPath().Append(GatewayAuth.MePath))
        {
            using var read = await viewer.GetAsync(path);
            if (path.StartsWith("/admin", StringComparison.Ordinal))
                await AssertProblemAsync(read, 403, "needs admin");
            else
                Assert.True(read.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound or HttpStatusCode.BadRequest
                                or HttpStatusCode.MethodNotAllowed, $"GET {path}: {read.StatusCode}");
            foreach (var method in path == GatewayAuth.MePath ? Array.Empty<HttpMethod>() : Writes)
            {
                using var write = await viewer.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent.Create(new { }) });
                await AssertProblemAsync(write, 403, "has role viewer");
            }
        }
        // A read of an existing collection is answered by its owner.
        var created = await fixture.Stack.Api.PostAsJsonAsync("/collections", new { name = $"viewer-{Guid.NewGuid():N}" });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/collections/{id}")).StatusCode);
    }

    [StackFact]
    public async Task A_member_creates_collections_but_cannot_start_training_touch_models_or_replay()
    {
        using var member = await fixture.ClientWithRoleAsync("member");

        using var created = await member.PostAsJsonAsync("/collections", new { name = $"member-{Guid.NewGuid():N}" });
        using var training = await member.PostAsJsonAsync("/training-runs", new { modelName = "m" });
        using var cancelRun = await member.PostAsync($"/training-runs/{Guid.NewGuid()}/cancel", null);
        using var model = await member.PostAsJsonAsync("/models", new { });
        using var replay = await member.PostAsJsonAsync("/admin/replay", new { type = "AnswersProduced" });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        foreach (var refused in new[] { training, cancelRun, model })
            await AssertProblemAsync(refused, 403, "needs trainer");
        await AssertProblemAsync(replay, 403, "needs admin");
    }

    [StackFact]
    public async Task A_trainer_reaches_the_training_service_with_a_new_run_and_an_admin_reaches_replay()
    {
        using var trainer = await fixture.ClientWithRoleAsync("trainer");
        using var admin = await fixture.ClientWithRoleAsync("admin");
        var created = await trainer.PostAsJsonAsync("/collections", new { name = $"trainer-{Guid.NewGuid():N}" });
        var collectionId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        using var run = await trainer.PostAsJsonAsync("/training-runs", new { modelName = "m", dataset = new { collectionId } });
        using var replayByTrainer = await trainer.PostAsJsonAsync("/admin/replay", new { type = "AnswersProduced" });
        using var replayByAdmin = await admin.PostAsJsonAsync("/admin/replay", new { type = "NoSuchMessage" });

        // The training service itself refuses a run over a collection without labels: the request got past the gateway.
        Assert.Equal(HttpStatusCode.BadRequest, run.StatusCode);
        Assert.Contains("no labels", await run.Content.ReadAsStringAsync());
        await AssertProblemAsync(replayByTrainer, 403, "needs admin");
        Assert.Equal(HttpStatusCode.BadRequest, replayByAdmin.StatusCode);
    }

    [StackFact]
    public async Task Me_tells_the_key_holder_its_team_role_and_key_prefix()
    {
        var created = await fixture.Stack.Keys.CreateKeyAsync(fixture.Stack.Team, "member", expiresAt: null);
        using var member = fixture.ClientWithKey(created.Key);

        var me = await member.GetFromJsonAsync<JsonElement>(GatewayAuth.MePath);

        Assert.Equal(fixture.Stack.Team, me.GetProperty("team").GetString());
        Assert.Equal("member", me.GetProperty("role").GetString());
        Assert.Equal(created.Prefix, me.GetProperty("keyPrefix").GetString());
        Assert.True(Guid.TryParse(me.GetProperty("teamId").GetString(), out _));
    }

    [StackFact]
    public async Task The_owner_gets_the_callers_team_role_and_the_gateway_secret_never_the_clients_own_headers_or_key()
    {
        var created = await fixture.Stack.Keys.CreateKeyAsync(fixture.Stack.Team, "viewer", expiresAt: null);
        using var viewer = fixture.ClientWithKey(created.Key);
        var me = await viewer.GetFromJsonAsync<JsonElement>(GatewayAuth.MePath);
        var tag = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/collections");
        request.Headers.Add(GatewayStack.RequestTag, tag);
        request.Headers.Add(GatewayAuth.TeamIdHeader, Guid.NewGuid().ToString());
        request.Headers.Add(GatewayAuth.RoleHeader, "admin");
        request.Headers.Add(GatewayAuth.SecretHeader, "forged");
        request.Headers.Add("x-vqa-anything", "forged");

        using var response = await viewer.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = fixture.ReceivedByIngestion[tag];
        Assert.Equal(me.GetProperty("teamId").GetString(), received[GatewayAuth.TeamIdHeader].ToString());
        Assert.Equal(fixture.Stack.Team, received[GatewayAuth.TeamHeader].ToString());
        Assert.Equal("viewer", received[GatewayAuth.RoleHeader].ToString());
        Assert.Equal(fixture.Stack.InternalSecret, received[GatewayAuth.SecretHeader].ToString());
        Assert.False(received.ContainsKey("X-Vqa-Anything"));
        Assert.False(received.ContainsKey("Authorization"));
    }

    [StackFact]
    public async Task A_revoked_key_is_refused_on_the_next_request()
    {
        var created = await fixture.Stack.Keys.CreateKeyAsync(fixture.Stack.Team, "admin", expiresAt: null);
        using var client = fixture.ClientWithKey(created.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(GatewayAuth.MePath)).StatusCode);

        await fixture.Stack.Keys.RevokeAsync(created.Prefix);
        var revokedAt = DateTimeOffset.UtcNow;
        using var after = await client.GetAsync("/collections");

        await AssertProblemAsync(after, 401, "unknown, expired or revoked");
        Assert.True(DateTimeOffset.UtcNow - revokedAt < TimeSpan.FromSeconds(5));
    }

    [StackFact]
    public async Task A_key_past_its_expiry_is_refused()
    {
        var created = await fixture.Stack.Keys.CreateKeyAsync(fixture.Stack.Team, "admin", DateTimeOffset.UtcNow.AddSeconds(2));
        using var client = fixture.ClientWithKey(created.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(GatewayAuth.MePath)).StatusCode);

        await Task.Delay(TimeSpan.FromSeconds(2.5));

        await AssertProblemAsync(await client.GetAsync(GatewayAuth.MePath), 401, "unknown, expired or revoked");
    }

    [StackFact]
    public async Task Keys_are_kept_only_as_hashes_the_key_text_is_nowhere_in_the_gateways_schema()
    {
        var created = await fixture.Stack.Keys.CreateKeyAsync(fixture.Stack.Team, "viewer", expiresAt: null);
        using var client = fixture.ClientWithKey(created.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(GatewayAuth.MePath)).StatusCode); // also writes last_used_at

        var dump = new System.Text.StringBuilder();
        await using var connection = new NpgsqlConnection(fixture.Stack.Database.ConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'gateway'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                tables.Add(reader.GetString(0));
        foreach (var table in tables)
        {
            // Every row as text, byte columns hex-encoded: the key's text or its secret part would show up either way.
            await using var rows = new NpgsqlCommand($"SELECT row_to_json(t)::text FROM gateway.\"{table}\" t", connection);
            await using var reader = await rows.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                dump.AppendLine(reader.GetString(0));
        }

        var secret = created.Key[(created.Key.LastIndexOf('_') + 1)..];
        Assert.Contains("api_keys", tables);
        Assert.Contains(created.Prefix, dump.ToString());
        Assert.DoesNotContain(secret, dump.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains(Convert.ToHexStringLower(ApiKeyText.Hash(created.Key)), dump.ToString());
    }

    /// <summary>An RFC 7807 problem of <paramref name="status"/> whose detail (and <c>error</c>) says <paramref name="says"/>.</summary>
    internal static async Task AssertProblemAsync(HttpResponseMessage response, int status, string says)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains(says, detail);
        Assert.Equal(detail, problem.GetProperty("error").GetString());
        Assert.True(problem.TryGetProperty("title", out _));
    }
}
