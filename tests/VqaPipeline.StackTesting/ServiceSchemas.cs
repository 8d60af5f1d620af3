using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Gateway.Data;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Inference.Data;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Preprocessing.Data;
using VqaPipeline.Training.Data;

namespace VqaPipeline.StackTesting;

/// <summary>One service's schema: its context, opened on any connection string, and its migrations.</summary>
public sealed record ServiceSchema(string Service, Func<string, ServiceDbContext> Open, Func<string, Task> MigrateAsync);

/// <summary>Every service's schema, as a deployment migrates them.</summary>
public static class ServiceSchemas
{
    public static IReadOnlyList<ServiceSchema> All { get; } =
    [
        Of<IngestionDbContext>(Services.Ingestion, options => new(options)),
        Of<PreprocessingDbContext>(Services.Preprocessing, options => new(options)),
        Of<InferenceDbContext>(Services.Inference, options => new(options)),
        Of<TrainingDbContext>(Services.Training, options => new(options)),
        Of<IndexingDbContext>(Services.Indexing, options => new(options)),
        Of<GatewayDbContext>(GatewayDbContext.SchemaName, options => new(options)),
    ];

    private static ServiceSchema Of<TContext>(string service, Func<DbContextOptions<TContext>, TContext> create)
        where TContext : ServiceDbContext =>
        new(service,
            connectionString => create(ServiceDbContext.OptionsFor<TContext>(connectionString, service)),
            connectionString => DatabaseMigrator.MigrateAsync(connectionString, service, create));
}
