using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Configuration;

namespace VqaPipeline.Hosting;

/// <summary>
/// A per-team bound on work in flight, checked by the service that owns the work in the handler that would add more
/// (uploads, question jobs, training runs). The limit is the setting <c>Quotas:{Name}</c> (else
/// <see cref="DefaultLimit"/>), and one team's own is <c>Quotas:Teams:{team name}:{Name}</c>: in appsettings a JSON map
/// <c>"Quotas": {"Teams": {"catalog-eu": {"JobsInFlight": 50}}}</c>, in the environment
/// <c>Quotas__Teams__catalog-eu__JobsInFlight=50</c>. Settings are read on every check, so a reloaded file applies at once.
/// The check is a count before the write, not a reservation: requests racing each other may each pass and take a team
/// a little past its limit, which a quota meant to stop floods (not to bill) can afford.
/// </summary>
/// <param name="Name">The setting's name, and the quota's name in the 429's detail.</param>
/// <param name="DefaultLimit">The limit when no setting gives one.</param>
/// <param name="Counted">What is counted, as the detail names it ("images waiting for preprocessing").</param>
/// <param name="RetryAfter">The wait the 429 suggests: about how long the work it counts takes to drain by a few.</param>
public sealed record TeamQuota(string Name, int DefaultLimit, string Counted, TimeSpan RetryAfter)
{
    /// <summary>The configuration section of every quota.</summary>
    public const string Section = "Quotas";

    /// <summary>The limit of <paramref name="caller"/>'s team: its own setting, else the service's, else the default.</summary>
    public int LimitFor(IConfiguration configuration, Caller caller) =>
        configuration.GetValue<int?>($"{Section}:Teams:{caller.Team}:{Name}")
        ?? configuration.GetValue<int?>($"{Section}:{Name}")
        ?? DefaultLimit;

    /// <summary>
    /// <c>null</c> when <paramref name="caller"/>'s team has less in flight than its limit; else a 429 saying which quota,
    /// its limit and how many are in flight, with <c>Retry-After</c> (whole seconds) set on <paramref name="response"/>.
    /// </summary>
    /// <param name="countInFlight">Counts the team's work in flight (an indexed count of its rows in an unfinished state).</param>
    public async Task<ProblemHttpResult?> RefusalAsync(
        IConfiguration configuration, Caller caller, HttpResponse response, Func<CancellationToken, Task<int>> countInFlight,
        CancellationToken cancellationToken)
    {
        var limit = LimitFor(configuration, caller);
        var inFlight = await countInFlight(cancellationToken);
        if (inFlight < limit)
            return null;
        var seconds = Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));
        response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return ApiProblem.Of(StatusCodes.Status429TooManyRequests,
            $"team '{caller.Team}' is at its {Name} quota: {inFlight} {Counted}, limit {limit}; retry when some are done (in about {seconds} s)");
    }
}
