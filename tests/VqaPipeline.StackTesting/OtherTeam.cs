using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using VqaPipeline.Hosting;
using Xunit;

namespace VqaPipeline.StackTesting;

/// <summary>
/// A second team of a <see cref="ServiceStack"/> with a key of its own, for tests of team scoping: what it is told
/// about the first team's resources must be exactly what it is told about ids nobody has.
/// </summary>
public sealed class OtherTeam : IDisposable
{
    private OtherTeam(Guid id, string name, HttpClient api)
    {
        Id = id;
        Name = name;
        Api = api;
    }

    /// <summary>The team's id.</summary>
    public Guid Id { get; }

    /// <summary>The team's name.</summary>
    public string Name { get; }

    /// <summary>A client of the public API (the gateway) sending this team's key.</summary>
    public HttpClient Api { get; }

    /// <summary>The team's id and its client, for <c>var (teamB, clientB) = …</c>.</summary>
    public void Deconstruct(out Guid id, out HttpClient api) => (id, api) = (Id, Api);

    /// <summary>
    /// Creates a team named after <paramref name="purpose"/> on <paramref name="stack"/> with a key of
    /// <paramref name="role"/> (admin by default, so no route is refused for its role: what is left is the scoping).
    /// With <paramref name="adoptExisting"/> the team is the one that owns the data stored before teams.
    /// </summary>
    public static async Task<OtherTeam> CreateAsync(ServiceStack stack, string purpose, string role = "admin", bool adoptExisting = false)
    {
        var name = $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(purpose.Length + 33, 100)];
        var id = await stack.Keys.CreateTeamAsync(name, ifAbsent: false, adoptExisting);
        var key = (await stack.Keys.CreateKeyAsync(name, role, expiresAt: null)).Key;
        var api = new HttpClient { BaseAddress = stack.Api.BaseAddress, Timeout = stack.Api.Timeout };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return new OtherTeam(id, name, api);
    }

    /// <summary>
    /// Sends <paramref name="request"/> made from <paramref name="ids"/> (another team's), then made from as many fresh
    /// ids, and asserts both are 404 with the same problem detail once the ids are swapped: the other team's resource
    /// is answered exactly like one that does not exist.
    /// </summary>
    public async Task AssertUnknownAsync(Func<Guid[], HttpRequestMessage> request, params Guid[] ids)
    {
        var unknownIds = ids.Select(_ => Guid.NewGuid()).ToArray();
        using var theirs = request(ids);
        using var unknown = request(unknownIds);
        var (theirStatus, theirDetail) = await SendAsync(theirs);
        var (unknownStatus, unknownDetail) = await SendAsync(unknown);
        var description = $"{theirs.Method} {theirs.RequestUri}";
        Assert.True(HttpStatusCode.NotFound == theirStatus, $"{description}: {(int)theirStatus} {theirDetail}");
        Assert.Equal(HttpStatusCode.NotFound, unknownStatus);
        for (var i = 0; i < ids.Length; i++)
            theirDetail = theirDetail.Replace(ids[i].ToString(), unknownIds[i].ToString());
        Assert.Equal(unknownDetail, theirDetail);
    }

    private async Task<(HttpStatusCode Status, string Detail)> SendAsync(HttpRequestMessage request)
    {
        using var response = await Api.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        using var problem = JsonDocument.Parse(body.Length > 0 ? body : "{}");
        return (response.StatusCode, problem.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? "" : body);
    }

    /// <summary>
    /// Asserts that <paramref name="service"/> of <paramref name="stack"/>, called on its own port at
    /// <paramref name="path"/> without the gateway's secret (with none, and with a wrong one beside a team's headers),
    /// answers 401 with the sentence that says so.
    /// </summary>
    public static async Task AssertRefusedWithoutGatewayAsync(ServiceStack stack, string service, string path)
    {
        using var direct = new HttpClient { BaseAddress = stack.AddressOf(service) };
        using var bare = await direct.GetAsync(path.TrimStart('/'));
        using var forged = new HttpRequestMessage(HttpMethod.Get, path.TrimStart('/'));
        GatewayHeaders.Forward(forged, new Caller(Guid.NewGuid(), "forged", "admin"), "not-the-secret");
        using var withForgedHeaders = await direct.SendAsync(forged);
        foreach (var response in new[] { bare, withForgedHeaders })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(Caller.NotThroughGatewayDetail, problem.RootElement.GetProperty("detail").GetString());
        }
        using var health = await direct.GetAsync("health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public void Dispose() => Api.Dispose();
}
