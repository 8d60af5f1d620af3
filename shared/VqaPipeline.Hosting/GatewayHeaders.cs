using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace VqaPipeline.Hosting;

/// <summary>
/// What the gateway tells the service that owns a route about the caller (it removes any of these a client sent):
/// the team and role of the caller's API key, and the internal secret (<c>Gateway:InternalSecret</c>, shared by the
/// gateway and the services) that shows the request came through the gateway.
/// </summary>
public static class GatewayHeaders
{
    public const string TeamId = "X-Vqa-Team-Id";
    public const string Team = "X-Vqa-Team";
    public const string Role = "X-Vqa-Role";
    public const string Secret = "X-Vqa-Gateway-Secret";

    /// <summary>The prefix of the caller's API key (never the key): who made a change, for histories.</summary>
    public const string KeyPrefix = "X-Vqa-Key";

    /// <summary>Every header of the gateway's starts with this; the gateway drops clients' headers that do.</summary>
    public const string Prefix = "X-Vqa-";

    /// <summary>The setting holding the secret the gateway and the services share.</summary>
    public const string InternalSecretSetting = "Gateway:InternalSecret";

    /// <summary>
    /// The caller's role as the gateway stated it, when <paramref name="request"/> carries the gateway's secret
    /// <paramref name="internalSecret"/> (compared in constant time); null otherwise, and always when no secret is set.
    /// </summary>
    public static string? RoleOf(HttpRequest request, string? internalSecret) =>
        CameThroughGateway(request, internalSecret) ? request.Headers[Role].ToString() : null;

    /// <summary>
    /// The caller (team and role of its API key) as the gateway stated it, when <paramref name="request"/> carries the
    /// gateway's secret <paramref name="internalSecret"/> and a team id; null otherwise, and always when no secret is set.
    /// </summary>
    public static Caller? CallerOf(HttpRequest request, string? internalSecret) =>
        CameThroughGateway(request, internalSecret) && Guid.TryParse(request.Headers[TeamId].ToString(), out var teamId)
            ? new Caller(teamId, request.Headers[Team].ToString(), request.Headers[Role].ToString())
            : null;

    /// <summary>
    /// Puts <paramref name="caller"/> and the secret on a request from one service to another, so the service asked
    /// answers as it would answer the caller through the gateway (another team's resource is unknown there too).
    /// </summary>
    public static void Forward(HttpRequestMessage request, Caller caller, string? internalSecret)
    {
        request.Headers.Add(TeamId, caller.TeamId.ToString());
        request.Headers.Add(Team, caller.Team);
        request.Headers.Add(Role, caller.Role);
        request.Headers.Add(Secret, internalSecret ?? "");
    }

    private static bool CameThroughGateway(HttpRequest request, string? internalSecret)
    {
        if (string.IsNullOrEmpty(internalSecret))
            return false;
        var given = request.Headers[Secret].ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(internalSecret));
    }
}
