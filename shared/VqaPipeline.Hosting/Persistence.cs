using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VqaPipeline.Data;
using VqaPipeline.Messaging;
using VqaPipeline.Storage;

namespace VqaPipeline.Hosting;

/// <summary>A service's own database schema and the object store, as every service that keeps state uses them.</summary>
public static class Persistence
{
    /// <summary>
    /// Registers <typeparamref name="TContext"/> (scoped, and <see cref="IDbContextFactory{TContext}"/> for singletons)
    /// on <c>VQA_POSTGRES</c> in the schema named <paramref name="schema"/>, with the service's messaging (outbox,
    /// inbox, replay) on it, the <see cref="ObjectStore"/> on <c>VQA_S3_*</c>, and a start-up step that applies the
    /// schema's pending migrations (advisory-locked, so instances starting together never race) and creates the
    /// bucket. Call it before <see cref="ServiceDefaults.AddVqaServiceDefaults{TBuilder}"/>: hosted services start in
    /// registration order, so the bus then starts only once the schema is current, and no message is handled against
    /// an old schema. <paramref name="configureDatabase"/> adds to the EF Core options (which errors to log quietly).
    /// </summary>
    public static IServiceCollection AddServiceDatabase<TContext>(
        this IServiceCollection services, IConfiguration configuration, string schema,
        Func<DbContextOptions<TContext>, TContext> create, Action<DbContextOptionsBuilder>? configureDatabase = null)
        where TContext : MessagingDbContext
    {
        var connectionString = ConnectionString(configuration);
        services.AddHostedService(provider => new SchemaAndBucketPreparation<TContext>(
            connectionString, schema, create, provider.GetRequiredService<ObjectStore>(),
            provider.GetRequiredService<ILogger<SchemaAndBucketPreparation<TContext>>>()));
        services.AddDbContextFactory<TContext>(options =>
        {
            options.UseNpgsql(ServiceDbContext.WithSearchPath(connectionString, schema),
                npgsql => npgsql.MigrationsHistoryTable(ServiceDbContext.MigrationsHistoryTable, schema));
            configureDatabase?.Invoke(options);
        });
        services.AddVqaMessaging<TContext>(ServiceDbContext.WithSearchPath(connectionString, schema));
        return services.AddObjectStore();
    }

    /// <summary>The <see cref="ObjectStore"/> on the <c>Storage</c> settings (<c>VQA_S3_*</c>).</summary>
    public static IServiceCollection AddObjectStore(this IServiceCollection services)
    {
        services.AddSingleton(provider =>
        {
            var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
            var endpoint = storage.Endpoint ?? throw new InvalidOperationException("VQA_S3_ENDPOINT (Storage:Endpoint) is not set");
            return new ObjectStore(new ObjectStoreOptions(endpoint, storage.AccessKey, storage.SecretKey, storage.Bucket));
        });
        return services;
    }

    /// <summary>The service's connection string (its own role), or the error that says which setting is missing.</summary>
    public static string ConnectionString(IConfiguration configuration) =>
        configuration[$"{DatabaseOptions.Section}:{nameof(DatabaseOptions.ConnectionString)}"] is { Length: > 0 } connectionString
            ? connectionString
            : throw new InvalidOperationException("VQA_POSTGRES (Database:ConnectionString) is not set");

    private sealed class SchemaAndBucketPreparation<TContext>(
        string connectionString, string schema, Func<DbContextOptions<TContext>, TContext> create, ObjectStore store,
        ILogger<SchemaAndBucketPreparation<TContext>> logger) : IHostedService where TContext : MessagingDbContext
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await DatabaseMigrator.MigrateAsync(connectionString, schema, create, cancellationToken);
            await store.EnsureBucketAsync(cancellationToken);
            logger.LogInformation("Schema {Schema} migrated and bucket {Bucket} ready", schema, store.Bucket);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>The one model locator of a service.</summary>
public static class ModelLocation
{
    /// <summary>
    /// Registers the <see cref="ModelLocator"/> on the <c>Models</c> settings; stored models go to
    /// <paramref name="defaultCacheDir"/> unless <c>Models:CacheDir</c> says otherwise.
    /// </summary>
    public static IServiceCollection AddModelLocator(this IServiceCollection services, IConfiguration configuration, string? defaultCacheDir = null)
    {
        var options = new ModelLocatorOptions();
        if (defaultCacheDir is { Length: > 0 })
            options.CacheDir = defaultCacheDir;
        configuration.GetSection(ModelLocatorOptions.Section).Bind(options);
        services.AddSingleton(options);
        services.AddSingleton(provider => new ModelLocator(provider.GetRequiredService<ObjectStore>(), options));
        return services;
    }
}
