using Npgsql;
using Xunit;

namespace VqaPipeline.TestSupport;

/// <summary>
/// A database of its own on the local PostgreSQL (<c>vqa_test_&lt;guid&gt;</c>), created for one fixture and dropped
/// after it, so reruns and parallel test assemblies never see each other's rows. Empty unless a subclass prepares it
/// (migrates it, say) in <see cref="PrepareAsync"/>.
/// </summary>
public class ScratchDatabase : IAsyncLifetime
{
    public string Name { get; } = $"vqa_test_{Guid.NewGuid():N}";

    /// <summary>The server's login to create the database with: the local stack's (<c>VQA_POSTGRES</c>) unless set.</summary>
    public string? Server { get; init; }

    private string ServerConnectionString => Server ?? LocalStack.Get("VQA_POSTGRES");

    /// <summary>The scratch database's connection string; empty until created, and when the stack tests are skipped.</summary>
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (LocalStack.Skipped)
            return; // every test of the fixture is skipped: see StackFactAttribute
        await ExecuteOnServerAsync($"CREATE DATABASE {Name}");
        ConnectionString = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = Name }.ConnectionString;
        await PrepareAsync(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (ConnectionString.Length == 0)
            return;
        // Pooled idle connections would hold the database open; FORCE ends any a service still has. A session still
        // logging in has no role yet, which PostgreSQL does not let a non-superuser end: the drop is tried again.
        NpgsqlConnection.ClearAllPools();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
                return;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.InsufficientPrivilege && attempt < 5)
            {
                await Task.Delay(200 * attempt);
            }
        }
    }

    /// <summary>Runs once the database exists, before any test sees it.</summary>
    protected virtual Task PrepareAsync(string connectionString) => Task.CompletedTask;

    private async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
