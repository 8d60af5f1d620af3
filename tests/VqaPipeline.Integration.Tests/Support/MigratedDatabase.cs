using VqaPipeline.Data;

namespace VqaPipeline.Integration.Tests.Support;

/// <summary>A <see cref="ScratchDatabase"/> with every migration applied, shared by one test class.</summary>
public sealed class MigratedDatabase : IAsyncLifetime
{
    private readonly ScratchDatabase _database = new();

    public string ConnectionString => _database.ConnectionString;

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        if (ConnectionString.Length > 0)
            await DatabaseMigrator.MigrateAsync(ConnectionString);
    }

    public Task DisposeAsync() => _database.DisposeAsync();
}
