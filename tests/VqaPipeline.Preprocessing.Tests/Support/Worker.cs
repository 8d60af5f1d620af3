using System.Security.Cryptography;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Preprocessing.Data;
using VqaPipeline.StackTesting;
using VqaPipeline.Storage;

namespace VqaPipeline.Preprocessing.Tests.Support;

/// <summary>
/// The preprocessing worker alone on the local stack (a provisioned database and a RabbitMQ virtual host of its own,
/// both deleted afterwards, and the local object store): tests play the ingestion service, storing originals and
/// publishing <see cref="ImageIngested"/>, and read what the worker recorded in its own schema.
/// </summary>
public sealed class Worker : IAsyncLifetime
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly IReadOnlyDictionary<string, string?> _settings;
    private ServiceStack? _stack;

    public Worker() : this(new Dictionary<string, string?>())
    {
    }

    /// <summary>A worker with <paramref name="settings"/> (configuration keys, <c>Section:Key</c>) over its defaults.</summary>
    internal Worker(IReadOnlyDictionary<string, string?> settings) => _settings = settings;

    private ServiceStack Stack => _stack ?? throw new InvalidOperationException("the worker has not started");

    public ObjectStore Store => Stack.Store;

    public PreprocessingDbContext NewContext() => Stack.Preprocessing();

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "preprocessing", InProcess = [Services.Preprocessing], Patience = Patience, Settings = _settings,
        });

    /// <summary>The worker's pixel budget, to see how much of it the images took at once.</summary>
    public PixelBudget Budget => Stack.Host(Services.Preprocessing).Services.GetRequiredService<PixelBudget>();

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }

    /// <summary>Publishes through the worker's own bus, as the ingestion service would.</summary>
    public Task PublishAsync(ImageIngested message, Guid messageId) =>
        Stack.Host(Services.Preprocessing).Services.GetRequiredService<IPublishEndpoint>()
            .Publish(message, context => context.MessageId = messageId);

    /// <summary>A collection id: the worker keeps no collections, only each image's.</summary>
    public static Guid NewCollection() => Guid.NewGuid();

    /// <summary>Stores <paramref name="bytes"/> as an original, as ingestion does, and returns the message announcing it.</summary>
    public async Task<ImageIngested> IngestAsync(Guid collectionId, string fileName, byte[] bytes)
    {
        var stored = await Store.PutAsync(new MemoryStream(bytes), "application/octet-stream");
        return new ImageIngested(collectionId, Guid.NewGuid(), stored.Key, stored.Sha256, fileName, "application/octet-stream",
            bytes.Length, DateTimeOffset.UtcNow);
    }

    /// <summary>Polls until every one of <paramref name="imageIds"/> has an outcome, within <see cref="Patience"/>.</summary>
    public Task<Dictionary<Guid, PreprocessedImage>> WaitForFinalAsync(IReadOnlyCollection<Guid> imageIds) =>
        Poll.UntilAsync(async () =>
            {
                await using var db = NewContext();
                return await db.Images.AsNoTracking().Where(i => imageIds.Contains(i.Id)).ToDictionaryAsync(i => i.Id);
            },
            images => images.Count == imageIds.Count, Patience,
            images => $"{imageIds.Count - images.Count} of {imageIds.Count} images still without an outcome", TimeSpan.FromMilliseconds(50));

    public static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}

[CollectionDefinition(Name)]
public sealed class WorkerCollection : ICollectionFixture<Worker>
{
    public const string Name = "preprocessing worker";
}
