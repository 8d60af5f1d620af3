using Microsoft.EntityFrameworkCore;
using Npgsql;
using VqaPipeline.Data;
using VqaPipeline.Integration.Tests.Support;

namespace VqaPipeline.Integration.Tests;

public sealed class MigrationTests
{
    [StackFact]
    public async Task Two_migrators_started_together_apply_every_migration_once()
    {
        var database = new ScratchDatabase();
        await database.InitializeAsync();
        try
        {
            await Task.WhenAll(
                DatabaseMigrator.MigrateAsync(database.ConnectionString),
                DatabaseMigrator.MigrateAsync(database.ConnectionString));
            await DatabaseMigrator.MigrateAsync(database.ConnectionString);

            await using var context = new VqaDbContext(VqaDbContext.OptionsFor(database.ConnectionString));
            var applied = await context.Database.GetAppliedMigrationsAsync();
            Assert.Equal(context.Database.GetMigrations(), applied);
            Assert.Empty(await context.Database.GetPendingMigrationsAsync());
            // Every table of the model exists, and nothing else: the migrations and the model agree.
            Assert.Equal(
                context.Model.GetEntityTypes().Select(entity => entity.GetTableName()!).Distinct().Order(StringComparer.Ordinal),
                (await TablesAsync(database.ConnectionString)).Order(StringComparer.Ordinal));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    private static async Task<List<string>> TablesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = 'public' AND table_name <> '__EFMigrationsHistory' ORDER BY table_name
            """,
            connection);
        var tables = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            tables.Add(reader.GetString(0));
        return tables;
    }
}
