using Npgsql;

namespace VqaPipeline.Integration.Tests.Support;

/// <summary>
/// A database of its own on the local PostgreSQL (<c>vqa_test_&lt;guid&gt;</c>), created empty for one test class
/// and dropped after it, so reruns and parallel classes never see each other's rows.
/// </summary>
public sealed class ScratchDatabase : IAsyncLifetime
{
    private readonly string _name = $"vqa_test_{Guid.NewGuid():N}";

    /// <summary>Connection string of the scratch database.</summary>
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (LocalStack.Missing.Count > 0 && !LocalStack.Required)
            return; // every test of the class is skipped: see StackFactAttribute
        await ExecuteOnServerAsync($"CREATE DATABASE {_name}");
        ConnectionString = new NpgsqlConnectionStringBuilder(LocalStack.Get("VQA_POSTGRES")) { Database = _name }
            .ConnectionString;
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
