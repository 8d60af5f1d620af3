using System.Net;
using System.Security.Cryptography;
using System.Text;
using VqaPipeline.Hosting;

namespace VqaPipeline.Indexing;

/// <summary>
/// Who may call <c>POST /admin/replay</c>, which republishes logged messages and so re-runs processing. With
/// <c>Indexing:AdminToken</c> set, whoever sends it as <c>Authorization: Bearer …</c>; without one, only callers on
/// this machine (a published port reaches the service from another address and is refused). Through the gateway, an
/// <c>admin</c> API key: the gateway says so with its internal secret (<see cref="GatewayHeaders"/>).
/// </summary>
internal static class AdminAccess
{
    private const string BearerPrefix = "Bearer ";

    /// <summary>Null when the request may go on; otherwise the 401 or 403 response that says why not.</summary>
    public static IResult? Refusal(HttpContext context, string? adminToken, string? gatewaySecret = null)
    {
        if (GatewayHeaders.RoleOf(context.Request, gatewaySecret) == "admin")
            return null;
        if (!string.IsNullOrEmpty(adminToken))
        {
            var header = context.Request.Headers.Authorization.ToString();
            var given = header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) ? header[BearerPrefix.Length..].Trim() : "";
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(adminToken))
                ? null
                : ApiProblem.Of(StatusCodes.Status401Unauthorized, "replay needs the admin token: send 'Authorization: Bearer <Indexing:AdminToken>'.");
        }
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
            return null;
        return ApiProblem.Of(StatusCodes.Status403Forbidden,
                "replay is only open to this machine: set Indexing:AdminToken (VQA_ADMIN_TOKEN in docker-compose.yml) and send it as 'Authorization: Bearer <token>'.");
    }
}
