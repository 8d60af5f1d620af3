using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using VqaPipeline.Data;
using VqaPipeline.Gateway.Data;

namespace VqaPipeline.Gateway.Auth;

/// <summary>A team or key operation that cannot be done as asked (unknown team, bad role, name taken).</summary>
public sealed class KeyAdministrationException(string message) : Exception(message);

/// <summary>A key as lists show it: never the key itself.</summary>
public sealed record ApiKeySummary(
    string Prefix, string Team, string Role, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt);

/// <summary>A key just created: the only time its text is known.</summary>
public sealed record CreatedApiKey(string Key, string Prefix, string Team, string Role, DateTimeOffset? ExpiresAt);

/// <summary>
/// The operator's work on teams and keys, straight on the gateway's schema (<c>vqa admin</c>, the local stack's set-up,
/// tests): no key is needed, and it spans teams.
/// </summary>
public sealed partial class KeyAdministration(string connectionString)
{
    /// <summary>The role names, lower case, as keys and <c>X-Vqa-Role</c> carry them.</summary>
    public static IReadOnlyList<string> RoleNames { get; } = Enum.GetValues<Role>().Select(LowerCaseEnum.Text).ToArray();

    /// <summary>
    /// Creates team <paramref name="name"/> and returns its id; when it exists, returns its id if
    /// <paramref name="ifAbsent"/>, else fails. With <paramref name="adoptExisting"/> the new team's id is
    /// <see cref="Guid.Empty"/>, the team of every row stored before teams, so the team owns that data (at most one
    /// team can).
    /// </summary>
    public async Task<Guid> CreateTeamAsync(string name, bool ifAbsent, bool adoptExisting = false,
        CancellationToken cancellationToken = default)
    {
        // Team names travel in a header (X-Vqa-Team) to the services: plain ASCII only.
        if (!TeamName().IsMatch(name))
            throw new KeyAdministrationException(
                $"team name '{name}' is not 1 to {Team.MaxNameLength} letters, digits, '.', '_' or '-' starting with a letter or digit");
        await using var db = GatewayDbContext.Open(connectionString);
        if (await db.Teams.FirstOrDefaultAsync(team => team.Name == name, cancellationToken) is { } existing)
            return ifAbsent ? existing.Id : throw new KeyAdministrationException($"team '{name}' already exists");
        var created = new Team { Id = adoptExisting ? Guid.Empty : Guid.CreateVersion7(), Name = name, CreatedAt = DateTimeOffset.UtcNow };
        if (adoptExisting && await db.Teams.FirstOrDefaultAsync(team => team.Id == Guid.Empty, cancellationToken) is { } adopter)
            throw new KeyAdministrationException($"team '{adopter.Name}' already owns the data stored before teams");
        try
        {
            if (adoptExisting)
                // EF Core takes an empty Guid key for "not set" and would generate one.
                await db.Database.ExecuteSqlInterpolatedAsync(
                    $"INSERT INTO gateway.teams (id, name, created_at) VALUES ({created.Id}, {created.Name}, {created.CreatedAt})",
                    cancellationToken);
            else
            {
                db.Teams.Add(created);
                await db.SaveChangesAsync(cancellationToken);
            }
            return created.Id;
        }
        catch (Exception error) when ((error as PostgresException ?? error.InnerException as PostgresException)?.SqlState
                                      == PostgresErrorCodes.UniqueViolation)
        {
            // Created by another call a moment ago (the adopting team: by name or by id).
            await using var again = GatewayDbContext.Open(connectionString);
            if (!ifAbsent || await again.Teams.FirstOrDefaultAsync(team => team.Name == name, cancellationToken) is not { } raced)
                throw new KeyAdministrationException(adoptExisting
                    ? $"team '{name}' already exists, or another team owns the data stored before teams"
                    : $"team '{name}' already exists");
            return raced.Id;
        }
    }

    /// <summary>A new key of <paramref name="teamName"/> with <paramref name="role"/>, working until <paramref name="expiresAt"/>.</summary>
    public async Task<CreatedApiKey> CreateKeyAsync(string teamName, string role, DateTimeOffset? expiresAt,
        CancellationToken cancellationToken = default)
    {
        var parsedRole = ParseRole(role);
        await using var db = GatewayDbContext.Open(connectionString);
        var team = await db.Teams.FirstOrDefaultAsync(t => t.Name == teamName, cancellationToken)
                   ?? throw new KeyAdministrationException($"no team named '{teamName}' (create it with: vqa admin team create {teamName})");
        var (key, prefix) = ApiKeyText.Generate();
        db.ApiKeys.Add(new ApiKey
        {
            Id = Guid.CreateVersion7(), TeamId = team.Id, Role = parsedRole, Prefix = prefix, KeyHash = ApiKeyText.Hash(key),
            CreatedAt = DateTimeOffset.UtcNow, ExpiresAt = expiresAt,
        });
        await db.SaveChangesAsync(cancellationToken);
        return new CreatedApiKey(key, prefix, team.Name, LowerCaseEnum.Text(parsedRole), expiresAt);
    }

    /// <summary>Every key (of <paramref name="teamName"/> when given), newest first, by prefix.</summary>
    public async Task<IReadOnlyList<ApiKeySummary>> ListKeysAsync(string? teamName, CancellationToken cancellationToken = default)
    {
        await using var db = GatewayDbContext.Open(connectionString);
        if (teamName is not null && !await db.Teams.AnyAsync(t => t.Name == teamName, cancellationToken))
            throw new KeyAdministrationException($"no team named '{teamName}'");
        var keys = await db.ApiKeys.Include(k => k.Team)
            .Where(k => teamName == null || k.Team!.Name == teamName)
            .OrderByDescending(k => k.CreatedAt)
            .ToListAsync(cancellationToken);
        return keys.Select(k => new ApiKeySummary(k.Prefix, k.Team!.Name, LowerCaseEnum.Text(k.Role), k.CreatedAt, k.ExpiresAt,
            k.RevokedAt, k.LastUsedAt)).ToList();
    }

    /// <summary>Revokes the key named <paramref name="prefix"/>; requests with it get 401 from the next one on.</summary>
    public async Task<ApiKeySummary> RevokeAsync(string prefix, CancellationToken cancellationToken = default)
    {
        await using var db = GatewayDbContext.Open(connectionString);
        var key = await db.ApiKeys.Include(k => k.Team).FirstOrDefaultAsync(k => k.Prefix == prefix, cancellationToken)
                  ?? throw new KeyAdministrationException($"no key with prefix '{prefix}' (see: vqa admin key list)");
        key.RevokedAt ??= DateTimeOffset.UtcNow;
        await db.SaveChangesAsync(cancellationToken);
        return new ApiKeySummary(key.Prefix, key.Team!.Name, LowerCaseEnum.Text(key.Role), key.CreatedAt, key.ExpiresAt,
            key.RevokedAt, key.LastUsedAt);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial System.Text.RegularExpressions.Regex TeamName();

    /// <summary><paramref name="role"/> (viewer, member, trainer, admin), or the error that lists them.</summary>
    public static Role ParseRole(string role) =>
        RoleNames.Contains(role) ? Enum.Parse<Role>(role, ignoreCase: true)
            : throw new KeyAdministrationException($"role '{role}' is not one of: {string.Join(", ", RoleNames)}");

    /// <summary>
    /// An expiry given as a date (<c>2027-01-31</c>, the start of that day in UTC) or an ISO 8601 time with an offset.
    /// </summary>
    public static DateTimeOffset ParseExpiry(string text)
    {
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            return new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time.ToUniversalTime()
            : throw new KeyAdministrationException($"--expires '{text}' is not a date (2027-01-31) or an ISO 8601 time");
    }
}
