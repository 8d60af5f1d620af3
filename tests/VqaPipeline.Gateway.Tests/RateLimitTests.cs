using System.Net;
using VqaPipeline.Gateway.Auth;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Gateway.Tests;

/// <summary>The per-team request rate at the gateway, with a small limit.</summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private const int Burst = 3;
    private ServiceStack? _stack;

    private ServiceStack Stack => _stack!;

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "rate-limit", InProcess = [],
            ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>
            {
                [GatewayService.Name] = new Dictionary<string, string?>
                {
                    ["Gateway:RateLimit:RequestsPerSecond"] = "1", ["Gateway:RateLimit:Burst"] = Burst.ToString(),
                },
            },
        });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }

    [StackFact]
    public async Task A_team_past_its_rate_gets_429_with_retry_after_while_another_team_goes_on()
    {
        await Stack.Keys.CreateTeamAsync("other-team", ifAbsent: false);
        var otherKey = (await Stack.Keys.CreateKeyAsync("other-team", "viewer", expiresAt: null)).Key;
        using var other = new HttpClient { BaseAddress = Stack.Api.BaseAddress };
        other.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", otherKey);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < Burst + 5 && refused is null; i++)
        {
            var response = await Stack.Api.GetAsync(GatewayAuth.MePath);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                refused = response;
        }
        using var otherTeam = await other.GetAsync(GatewayAuth.MePath);
        using var anonymousHealth = await Stack.Api.GetAsync("/health/live");

        Assert.NotNull(refused);
        Assert.True(statuses.Count(status => status == HttpStatusCode.OK) >= Burst, string.Join(", ", statuses));
        var retryAfter = int.Parse(refused.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retryAfter, 1, 2);
        await KeyAndRoleTests.AssertProblemAsync(refused, 429, $"team '{Stack.Team}' is over its rate of 1 requests per second");
        Assert.Equal(HttpStatusCode.OK, otherTeam.StatusCode);
        Assert.Equal(HttpStatusCode.OK, anonymousHealth.StatusCode);

        // Tokens come back on the limiter's 100 ms replenishment tick: Retry-After is whole seconds, give it that tick.
        await Task.Delay(TimeSpan.FromSeconds(retryAfter + 0.2));
        Assert.Equal(HttpStatusCode.OK, (await Stack.Api.GetAsync(GatewayAuth.MePath)).StatusCode);
    }
}
