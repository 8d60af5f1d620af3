using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace VqaPipeline.Data;

/// <summary>Brings a service's schema up to its latest migration when the service starts.</summary>
public static class DatabaseMigrator
{
    /// <summary>
    /// Applies every pending migration of <typeparamref name="TContext"/>. Instances of one service starting together
    /// would race to create the history table and apply the same migration twice, so they take turns under a
    /// session-level advisory lock named after the schema; the later ones find nothing to do. Different services
    /// migrate their own schemas at the same time.
    /// </summary>
    public static async Task MigrateAsync<TContext>(
        string connectionString, string schema, Func<DbContextOptions<TContext>, TContext> create,
        CancellationToken cancellationToken = default) where TContext : ServiceDbContext
    {
        await using var connection = new NpgsqlConnection(ServiceDbContext.WithSearchPath(connectionString, schema));
        await connection.OpenAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended(@key, 0))", connection))
        {
            lockCommand.Parameters.AddWithValue("key", LockKey(schema));
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            var options = new DbContextOptionsBuilder<TContext>()
                .UseNpgsql(connection, npgsql => npgsql.MigrationsHistoryTable(ServiceDbContext.MigrationsHistoryTable, schema))
                .Options;
            await using var context = create(options);
            await context.Database.MigrateAsync(cancellationToken);
        }
        finally
        {
            // Closing the connection would release the lock too, but a pooled connection is only reset later.
            await using var unlockCommand = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended(@key, 0))", connection);
            unlockCommand.Parameters.AddWithValue("key", LockKey(schema));
            await unlockCommand.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private static string LockKey(string schema) => $"vqa-migrate:{schema}";
}
