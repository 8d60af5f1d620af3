using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using VqaPipeline.Messaging;

namespace VqaPipeline.Hosting.Tests.Support;

/// <summary>A service's database with nothing but the messaging tables, in a schema of its own: what the outbox needs.</summary>
public sealed class MessagingOnlyDbContext(DbContextOptions<MessagingOnlyDbContext> options) : MessagingDbContext(options)
{
    public const string SchemaName = "messaging_tests";

    public override string Schema => SchemaName;

    protected override void ConfigureTables(ModelBuilder modelBuilder)
    {
    }
}

/// <summary>A <see cref="ScratchDatabase"/> with the messaging tables created, shared by one test class.</summary>
public sealed class MigratedDatabase : ScratchDatabase
{
    public MessagingOnlyDbContext NewContext() =>
        new(Data.ServiceDbContext.OptionsFor<MessagingOnlyDbContext>(ConnectionString, MessagingOnlyDbContext.SchemaName));

    protected override async Task PrepareAsync(string connectionString)
    {
        await using var context = NewContext();
        await context.Database.EnsureCreatedAsync();
    }
}
