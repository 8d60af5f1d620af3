using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using VqaPipeline.Data;
using VqaPipeline.Gateway.Auth;

namespace VqaPipeline.Gateway.Data;

/// <summary>
/// The gateway's schema (<c>gateway</c>, role <c>vqa_gateway</c>): the teams and their API keys. The gateway publishes
/// no messages, so it has no outbox or inbox.
/// </summary>
public sealed class GatewayDbContext(DbContextOptions<GatewayDbContext> options) : ServiceDbContext(options)
{
    /// <summary>The gateway's schema name.</summary>
    public const string SchemaName = "gateway";

    public override string Schema => SchemaName;

    /// <summary>Teams: who owns resources and holds keys.</summary>
    public DbSet<Team> Teams => Set<Team>();

    /// <summary>API keys, stored as their SHA-256 hash with the prefix that names them.</summary>
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    /// <summary>A context on <paramref name="connectionString"/> (the gateway role's, or any with rights on the schema).</summary>
    public static GatewayDbContext Open(string connectionString) => new(OptionsFor<GatewayDbContext>(connectionString, SchemaName));

    protected override void ConfigureModel(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Team>(team =>
        {
            team.Property(t => t.Name).HasMaxLength(Team.MaxNameLength);
            team.HasIndex(t => t.Name).IsUnique();
        });

        modelBuilder.Entity<ApiKey>(key =>
        {
            key.Property(k => k.Prefix).HasMaxLength(ApiKeyText.PrefixLength).IsFixedLength();
            key.HasIndex(k => k.Prefix).IsUnique();
            key.Property(k => k.KeyHash).HasMaxLength(32).IsFixedLength();
            key.HasIndex(k => k.KeyHash).IsUnique();
            key.Property(k => k.Role).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<Role>());
            key.HasIndex(k => k.TeamId);
            key.HasOne(k => k.Team).WithMany().HasForeignKey(k => k.TeamId);
        });
    }
}

/// <summary>A team: the owner of collections, jobs, runs and models, and the holder of API keys.</summary>
public sealed class Team
{
    /// <summary>Longest team name.</summary>
    public const int MaxNameLength = 100;

    public Guid Id { get; set; }

    public required string Name { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// An API key of a team, with one role. Only the SHA-256 hash of the key is kept: a key is 256 random bits, so a fast
/// hash cannot be reversed by guessing, and a request's key is found by its hash (no comparison of secrets in code).
/// </summary>
public sealed class ApiKey
{
    public Guid Id { get; set; }

    public Guid TeamId { get; set; }

    public Team? Team { get; set; }

    public Role Role { get; set; }

    /// <summary>The key's public name (its first part after <c>vqa_</c>), shown in lists and used to revoke it.</summary>
    public required string Prefix { get; set; }

    /// <summary>SHA-256 of the whole key text.</summary>
    public required byte[] KeyHash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the key stops working; never when null.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>When the key was revoked; it works while null.</summary>
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>The last time a request used the key, to the minute.</summary>
    public DateTimeOffset? LastUsedAt { get; set; }
}

/// <summary>What a key may do; each role includes the ones before it.</summary>
public enum Role
{
    /// <summary>Reads: GET anything, search, exports.</summary>
    Viewer,

    /// <summary>+ uploads, collections, imports, labels, jobs and their cancel.</summary>
    Member,

    /// <summary>+ training runs and models.</summary>
    Trainer,

    /// <summary>+ /admin/* and keys.</summary>
    Admin,
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
public sealed class GatewayDbContextDesignTimeFactory : IDesignTimeDbContextFactory<GatewayDbContext>
{
    public GatewayDbContext CreateDbContext(string[] args) => GatewayDbContext.Open("Host=localhost;Database=vqapipeline_design");
}
