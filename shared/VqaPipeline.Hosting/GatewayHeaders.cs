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

    /// <summary>Every header of the gateway's starts with this; the gateway drops clients' headers that do.</summary>
    public const string Prefix = "X-Vqa-";

    /// <summary>The setting holding the secret the gateway and the services share.</summary>
    public const string InternalSecretSetting = "Gateway:InternalSecret";

    /// <summary>
    /// The caller's role as the gateway stated it, when <paramref name="request"/> carries the gateway's secret
    /// <paramref name="internalSecret"/> (compared in constant time); null otherwise, and always when no secret is set.
    /// </summary>
    public static string? RoleOf(HttpRequest request, string? internalSecret)
    {
        if (string.IsNullOrEmpty(internalSecret))
            return null;
        var given = request.Headers[Secret].ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(internalSecret))
            ? request.Headers[Role].ToString()
            : null;
    }
}
