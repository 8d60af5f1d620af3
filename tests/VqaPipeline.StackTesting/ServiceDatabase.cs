using Npgsql;
using VqaPipeline.Data;
using VqaPipeline.TestSupport;

namespace VqaPipeline.StackTesting;

/// <summary>
/// A scratch database provisioned as a deployment is (provision.sql): every service's role and schema. Services log in
/// as their roles (<see cref="ConnectionStringFor"/>); tests look at any schema with the owner's login
/// (<see cref="ScratchDatabase.ConnectionString"/>).
/// </summary>
/// <param name="provision">False for a database as a version before provisioning had it (an upgrade test provisions it later).</param>
public class ServiceDatabase(bool provision = true) : ScratchDatabase
{
    /// <summary>The password of the services' roles: up.sh's, or the local default.</summary>
    public static string ServicePassword =>
        Environment.GetEnvironmentVariable("VQA_POSTGRES_SERVICE_PASSWORD") is { Length: > 0 } password ? password : "vqa-services-local";

    /// <summary>The connection string <paramref name="service"/> logs in with.</summary>
    public string ConnectionStringFor(string service) =>
        DatabaseProvisioner.ConnectionStringFor(ConnectionString, service, ServicePassword);

    protected override Task PrepareAsync(string connectionString) =>
        provision ? DatabaseProvisioner.ProvisionAsync(connectionString, ServicePassword) : Task.CompletedTask;

    /// <summary>Runs <paramref name="sql"/> with the owner's login.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
