using VqaPipeline.Data;

namespace VqaPipeline.Hosting.Tests.Support;

/// <summary>A <see cref="ScratchDatabase"/> with every migration applied, for one test class.</summary>
public sealed class MigratedDatabase : ScratchDatabase
{
    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    protected override Task PrepareAsync(string connectionString) => DatabaseMigrator.MigrateAsync(connectionString);
}
