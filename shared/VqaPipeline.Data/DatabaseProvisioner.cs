using Npgsql;

namespace VqaPipeline.Data;

/// <summary>
/// The roles and schemas of the services (<c>Provisioning/provision.sql</c>, which <c>infra/local/up.sh</c> and the
/// Docker Compose stack run with psql): one login role <c>vqa_{service}</c> per service, owning the schema named like
/// the service, and nothing else.
/// </summary>
public static class DatabaseProvisioner
{
    /// <summary>The services that keep data, each with its schema and role.</summary>
    public static IReadOnlyList<string> Services { get; } = ["ingestion", "preprocessing", "inference", "training", "indexing", "gateway"];

    /// <summary>The login role of <paramref name="service"/>.</summary>
    public static string RoleOf(string service) => $"vqa_{service}";

    /// <summary>The provisioning script, as shipped in this assembly.</summary>
    public static string Script()
    {
        using var stream = typeof(DatabaseProvisioner).Assembly.GetManifestResourceStream("VqaPipeline.Data.Provisioning.provision.sql")
            ?? throw new InvalidOperationException("provision.sql is not embedded in VqaPipeline.Data");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Runs the script in the database of <paramref name="adminConnectionString"/> (a role that may create roles and
    /// owns the database); roles it creates get <paramref name="servicePassword"/>.
    /// </summary>
    public static async Task ProvisionAsync(string adminConnectionString, string servicePassword, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var password = new NpgsqlCommand("SELECT set_config('vqa.service_password', @password, false)", connection))
        {
            password.Parameters.AddWithValue("password", servicePassword);
            await password.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var provision = new NpgsqlCommand(Script(), connection);
        await provision.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary><paramref name="connectionString"/> logging in as <paramref name="service"/>'s role instead.</summary>
    public static string ConnectionStringFor(string connectionString, string service, string servicePassword) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Username = RoleOf(service), Password = servicePassword }.ConnectionString;
}
