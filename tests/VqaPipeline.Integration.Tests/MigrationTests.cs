using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
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

    [StackFact]
    public async Task The_outbox_migration_marks_existing_published_rows_sent_and_tells_consumed_ones_apart()
    {
        var database = new ScratchDatabase();
        await database.InitializeAsync();
        try
        {
            await using var context = new VqaDbContext(VqaDbContext.OptionsFor(database.ConnectionString));
            var migrations = context.Database.GetMigrations().ToList();
            var outbox = migrations.Single(m => m.EndsWith("_Outbox"));
            await context.GetService<IMigrator>().MigrateAsync(migrations[migrations.IndexOf(outbox) - 1]);
            var (relayed, published, consumedOnly) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
            // Before the outbox: ingestion logged and published `relayed`, which preprocessing consumed and logged
            // again; `published` has not been consumed yet; `consumedOnly` came from a publisher that logs nothing.
            await ExecuteAsync(database.ConnectionString,
                $$"""
                 INSERT INTO event_log (message_id, message_type, body, occurred_at) VALUES
                   ('{{relayed}}', 'ImageIngested', '{}', now() - interval '1 minute'),
                   ('{{published}}', 'ImagePreprocessed', '{}', now() - interval '1 minute'),
                   ('{{relayed}}', 'ImageIngested', '{}', now()),
                   ('{{consumedOnly}}', 'ImageIngested', '{}', now());
                 INSERT INTO inbox_messages (consumer, message_id, processed_at) VALUES
                   ('preprocessing', '{{relayed}}', now()), ('preprocessing', '{{consumedOnly}}', now());
                 """);

            await DatabaseMigrator.MigrateAsync(database.ConnectionString);

            var rows = await context.EventLog.AsNoTracking().OrderBy(e => e.Id).ToListAsync();
            Assert.Equal(
                [(relayed, MessageDirection.Published, true), (published, MessageDirection.Published, true),
                 (relayed, MessageDirection.Consumed, false), (consumedOnly, MessageDirection.Consumed, false)],
                rows.Select(e => (e.MessageId, e.Direction, e.DispatchedAt is not null)));
            Assert.All(rows.Where(e => e.Direction == MessageDirection.Published), e => Assert.Equal(e.OccurredAt, e.DispatchedAt));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
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
