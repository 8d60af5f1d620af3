using VqaPipeline.Data;

namespace VqaPipeline.Integration.Tests.Support;

/// <summary>A <see cref="ScratchDatabase"/> with every migration applied, shared by one test class.</summary>
public sealed class MigratedDatabase : ScratchDatabase
{
    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    protected override Task PrepareAsync(string connectionString) => DatabaseMigrator.MigrateAsync(connectionString);
}
