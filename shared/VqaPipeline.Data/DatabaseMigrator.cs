using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace VqaPipeline.Data;

/// <summary>Brings a database up to the latest migration when a service starts.</summary>
public static class DatabaseMigrator
{
    /// <summary>
    /// Key of the session-level advisory lock held while migrating: services starting together would otherwise race
    /// to create the migrations history table and apply the same migration twice.
    /// </summary>
    private const long MigrationLockKey = 0x5651_415F_4D49_4752; // "VQA_MIGR"

    /// <summary>
    /// Applies every pending migration to the database named by <paramref name="connectionString"/>, which must
    /// exist. Safe to call from several processes at once: they take turns, and the later ones find nothing to do.
    /// </summary>
    public static async Task MigrateAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection))
        {
            lockCommand.Parameters.AddWithValue("key", MigrationLockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            var options = new DbContextOptionsBuilder<VqaDbContext>().UseNpgsql(connection).Options;
            await using var context = new VqaDbContext(options);
            await context.Database.MigrateAsync(cancellationToken);
        }
        finally
        {
            // Closing the connection would release the lock too, but a pooled connection is only reset later.
            await using var unlockCommand = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            unlockCommand.Parameters.AddWithValue("key", MigrationLockKey);
            await unlockCommand.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
