using VqaPipeline.StackTesting;

namespace VqaPipeline.Integration.Tests.Support;

/// <summary>A provisioned <see cref="ServiceDatabase"/> with every service's schema migrated, shared by one test class.</summary>
public sealed class MigratedDatabase : ServiceDatabase
{
    protected override async Task PrepareAsync(string connectionString)
    {
        await base.PrepareAsync(connectionString);
        foreach (var schema in ServiceSchemas.All)
            await schema.MigrateAsync(ConnectionStringFor(schema.Service));
    }
}
