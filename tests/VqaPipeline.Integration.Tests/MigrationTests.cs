using Microsoft.EntityFrameworkCore;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Integration.Tests;

/// <summary>Each service's schema and role on a provisioned database: migrations, isolation.</summary>
public sealed class MigrationTests
{
    [StackFact]
    public Task Two_migrators_of_each_service_started_together_apply_every_migration_once_in_its_own_schema() =>
        WithProvisionedDatabaseAsync(async database =>
    {
        foreach (var schema in ServiceSchemas.All)
        {
            var connectionString = database.ConnectionStringFor(schema.Service);
            await Task.WhenAll(schema.MigrateAsync(connectionString), schema.MigrateAsync(connectionString));
            await schema.MigrateAsync(connectionString);

            await using var context = schema.Open(connectionString);
            Assert.Equal(context.Database.GetMigrations(), await context.Database.GetAppliedMigrationsAsync());
            Assert.Empty(await context.Database.GetPendingMigrationsAsync());
            // Every table of the model exists in the service's schema, and nothing else: the migrations and the model agree.
            Assert.Equal(
                context.Model.GetEntityTypes().Select(entity => entity.GetTableName()!).Append(ServiceDbContext.MigrationsHistoryTable)
                    .Distinct().Order(StringComparer.Ordinal),
                await TablesAsync(database.ConnectionString, schema.Service));
        }
        Assert.Empty(await TablesAsync(database.ConnectionString, "public"));
    });

    [StackFact]
    public Task A_services_role_writes_its_own_schema_and_cannot_write_or_read_another_services() =>
        WithProvisionedDatabaseAsync(async database =>
    {
        foreach (var schema in ServiceSchemas.All)
            await schema.MigrateAsync(database.ConnectionStringFor(schema.Service));

        // Each role writes a table of its own schema, which the others then try to reach.
        foreach (var writer in DatabaseProvisioner.Services)
            Assert.Null(await ExecuteAsync(database.ConnectionStringFor(writer),
                $"CREATE TABLE {writer}.probe (id int); INSERT INTO {writer}.probe VALUES (1)"));
        foreach (var writer in DatabaseProvisioner.Services)
        {
            foreach (var other in DatabaseProvisioner.Services.Where(other => other != writer))
            {
                var insert = await ExecuteAsync(database.ConnectionStringFor(writer), $"INSERT INTO {other}.probe VALUES (2)");
                var read = await ExecuteAsync(database.ConnectionStringFor(writer), $"SELECT count(*) FROM {other}.probe");
                var create = await ExecuteAsync(database.ConnectionStringFor(writer), $"CREATE TABLE {other}.intruder (id int)");
                Assert.All([insert, read, create], error => Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error?.SqlState));
            }
            var inPublic = await ExecuteAsync(database.ConnectionStringFor(writer), "CREATE TABLE public.intruder (id int)");
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, inPublic?.SqlState);
        }
    });

    [StackFact]
    public Task A_database_of_the_old_layout_that_was_not_provisioned_for_it_stops_the_migration_with_what_to_do() =>
        WithProvisionedDatabaseAsync(async database =>
    {
        // The old tables appear after provisioning, so no role was allowed to read them.
        await database.ExecuteAsync(await LegacyDatabase.SchemaAsync());

        var error = await Assert.ThrowsAsync<PostgresException>(() =>
            ServiceSchemas.All[0].MigrateAsync(database.ConnectionStringFor(Services.Ingestion)));
        Assert.Contains("run provision.sql", error.MessageText);
    });

    /// <summary>Runs <paramref name="test"/> on a provisioned database of its own, dropped afterwards.</summary>
    internal static async Task WithProvisionedDatabaseAsync(Func<ServiceDatabase, Task> test)
    {
        var database = new ServiceDatabase();
        await database.InitializeAsync();
        try
        {
            await test(database);
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    /// <summary>The error <paramref name="sql"/> ends with, or <c>null</c> when it succeeds.</summary>
    private static async Task<PostgresException?> ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        try
        {
            await command.ExecuteNonQueryAsync();
            return null;
        }
        catch (PostgresException exception)
        {
            return exception;
        }
    }

    internal static async Task<List<string>> TablesAsync(string connectionString, string schema)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = @schema ORDER BY table_name", connection);
        command.Parameters.AddWithValue("schema", schema);
        var tables = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            tables.Add(reader.GetString(0));
        return tables;
    }
}
