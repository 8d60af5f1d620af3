using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VqaPipeline.Data;
using VqaPipeline.Storage;

namespace VqaPipeline.Hosting;

/// <summary>The database and the object store as every service that keeps state uses them.</summary>
public static class Persistence
{
    /// <summary>
    /// Registers <see cref="VqaDbContext"/> (scoped, and <see cref="IDbContextFactory{TContext}"/> for singletons) on
    /// <c>VQA_POSTGRES</c>, the <see cref="ObjectStore"/> on <c>VQA_S3_*</c>, and a start-up step that applies pending
    /// migrations (advisory-locked, so services starting together never race) and creates the bucket. Call it before
    /// <see cref="ServiceDefaults.AddVqaServiceDefaults{TBuilder}"/>: hosted services start in registration order, so
    /// the bus then starts only once the schema is current, and no message is handled against an old schema.
    /// <paramref name="configureDatabase"/> adds to the EF Core options (for example which errors to log quietly).
    /// </summary>
    public static IServiceCollection AddVqaPersistence(
        this IServiceCollection services, Action<DbContextOptionsBuilder>? configureDatabase = null)
    {
        services.AddHostedService<SchemaAndBucketPreparation>();
        services.AddDbContextFactory<VqaDbContext>((provider, options) =>
        {
            options.UseNpgsql(ConnectionString(provider));
            configureDatabase?.Invoke(options);
        });
        services.AddSingleton(provider =>
        {
            var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            var endpoint = storage.Endpoint ?? throw new InvalidOperationException("VQA_S3_ENDPOINT (Storage:Endpoint) is not set");
            return new ObjectStore(new ObjectStoreOptions(endpoint, storage.AccessKey, storage.SecretKey, storage.Bucket));
        });
        return services;
    }

    private static string ConnectionString(IServiceProvider provider) =>
        provider.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString is { Length: > 0 } connectionString
            ? connectionString
            : throw new InvalidOperationException("VQA_POSTGRES (Database:ConnectionString) is not set");

    private sealed class SchemaAndBucketPreparation(IServiceProvider provider, ILogger<SchemaAndBucketPreparation> logger)
        : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await DatabaseMigrator.MigrateAsync(ConnectionString(provider), cancellationToken);
            var store = provider.GetRequiredService<ObjectStore>();
            await store.EnsureBucketAsync(cancellationToken);
            logger.LogInformation("Database migrated and bucket {Bucket} ready", store.Bucket);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
