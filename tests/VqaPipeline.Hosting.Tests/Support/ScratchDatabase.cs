using Npgsql;
using VqaPipeline.Data;

namespace VqaPipeline.Hosting.Tests.Support;

/// <summary>A migrated database of its own on the local PostgreSQL (<c>vqa_test_&lt;guid&gt;</c>), dropped afterwards.</summary>
public sealed class ScratchDatabase : IAsyncLifetime
{
    private readonly string _name = $"vqa_test_{Guid.NewGuid():N}";

    public string ConnectionString { get; private set; } = "";

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    public async Task InitializeAsync()
    {
        if (LocalStack.Skipped)
            return; // every test of the class is skipped: see StackFactAttribute
        await ExecuteOnServerAsync($"CREATE DATABASE {_name}");
        ConnectionString = new NpgsqlConnectionStringBuilder(LocalStack.Get("VQA_POSTGRES")) { Database = _name }.ConnectionString;
        await DatabaseMigrator.MigrateAsync(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (ConnectionString.Length == 0)
            return;
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
    }

    private static async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(LocalStack.Get("VQA_POSTGRES"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
