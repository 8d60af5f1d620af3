using Microsoft.EntityFrameworkCore;
using VqaPipeline.Gateway.Data;

namespace VqaPipeline.Gateway.Auth;

/// <summary>Who a request comes from: the team and role of its key.</summary>
public sealed record Caller(Guid TeamId, string Team, Role Role, string KeyPrefix);

/// <summary>
/// Finds the key of a request by its SHA-256 hash: one indexed query per request and no cache, so a revoked or expired
/// key fails on the next request. The key text itself is never logged or stored.
/// </summary>
public sealed class ApiKeyAuthenticator(IDbContextFactory<GatewayDbContext> contexts, TimeProvider time)
{
    /// <summary>How stale a key's <see cref="ApiKey.LastUsedAt"/> may be: it costs a write only this often.</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    /// <summary>The caller that <paramref name="key"/> is, or null when it is no working key (unknown, expired, revoked).</summary>
    public async Task<Caller?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        if (!ApiKeyText.LooksLikeKey(key))
            return null;
        var hash = ApiKeyText.Hash(key);
        var now = time.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var found = await db.ApiKeys.AsNoTracking()
            .Where(k => k.KeyHash == hash && k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now))
            .Select(k => new { k.Id, k.Prefix, k.Role, k.TeamId, TeamName = k.Team!.Name, k.LastUsedAt })
            .FirstOrDefaultAsync(cancellationToken);
        if (found is null)
            return null;
        if (found.LastUsedAt is not { } lastUsed || now - lastUsed > LastUsedResolution)
            await db.ApiKeys.Where(k => k.Id == found.Id)
                .ExecuteUpdateAsync(set => set.SetProperty(k => k.LastUsedAt, now), cancellationToken);
        return new Caller(found.TeamId, found.TeamName, found.Role, found.Prefix);
    }
}
