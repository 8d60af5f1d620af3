using System.Security.Cryptography;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Storage;

namespace VqaPipeline.Preprocessing.Tests.Support;

/// <summary>
/// The preprocessing worker hosted in this process on 127.0.0.1 with a free port, against a database of its own
/// (<c>vqa_test_&lt;guid&gt;</c>) and a RabbitMQ virtual host of its own, both deleted afterwards, and the local object
/// store.
/// </summary>
public sealed class Worker : IAsyncLifetime
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly ScratchDatabase _database = new();
    private readonly InProcessServices _services = new(Patience);
    private WebApplication? _app;
    private ObjectStore? _store;
    private RabbitMqVirtualHost? _virtualHost;

    public string ConnectionString => _database.ConnectionString;

    public ObjectStore Store => _store ?? throw new InvalidOperationException("the worker has not started");

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        if (LocalStack.Skipped)
            return; // every test is skipped: see StackFactAttribute
        _virtualHost = await RabbitMqVirtualHost.CreateAsync("preprocessing");

        var builder = InProcessServices.NewBuilder(new Dictionary<string, string?>
        {
            ["VQA_POSTGRES"] = ConnectionString,
            ["VQA_RABBITMQ_URL"] = _virtualHost.Url,
            ["Preprocessing:QueueName"] = $"preprocessing-tests-{Guid.NewGuid():N}",
        });
        builder.AddPreprocessing();
        _app = builder.Build().MapPreprocessing();
        _store = _app.Services.GetRequiredService<ObjectStore>();
        await _services.StartAsync(_app);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>Publishes through the worker's own bus, as the ingestion service would.</summary>
    public Task PublishAsync(ImageIngested message, Guid messageId) =>
        _app!.Services.GetRequiredService<IPublishEndpoint>()
            .Publish(message, context => context.MessageId = messageId);

    /// <summary>A new, empty collection.</summary>
    public async Task<Guid> NewCollectionAsync()
    {
        await using var db = NewContext();
        var collection = new Collection { Id = Guid.NewGuid(), Name = $"preprocessing-{Guid.NewGuid():N}", CreatedAt = DateTimeOffset.UtcNow };
        db.Collections.Add(collection);
        await db.SaveChangesAsync();
        return collection.Id;
    }

    /// <summary>Stores <paramref name="bytes"/> as an original and records a pending image, as ingestion does.</summary>
    public async Task<ImageIngested> IngestAsync(Guid collectionId, string fileName, byte[] bytes)
    {
        var stored = await Store.PutAsync(new MemoryStream(bytes), "application/octet-stream");
        var now = DateTimeOffset.UtcNow;
        var image = new Image
        {
            Id = Guid.NewGuid(), CollectionId = collectionId, Sha256 = stored.Sha256, ObjectKey = stored.Key,
            FileName = fileName, ContentType = "application/octet-stream", SizeBytes = bytes.Length,
            CreatedAt = now, UpdatedAt = now,
        };
        await using var db = NewContext();
        db.Images.Add(image);
        await db.SaveChangesAsync();
        return new ImageIngested(collectionId, image.Id, stored.Key, stored.Sha256, fileName, image.ContentType,
            bytes.Length, now);
    }

    /// <summary>Polls until none of <paramref name="imageIds"/> is pending any more, within <see cref="Patience"/>.</summary>
    public Task<Dictionary<Guid, Image>> WaitForFinalAsync(IReadOnlyCollection<Guid> imageIds) =>
        Poll.UntilAsync(async () =>
            {
                await using var db = NewContext();
                return await db.Images.AsNoTracking().Where(i => imageIds.Contains(i.Id)).ToDictionaryAsync(i => i.Id);
            },
            images => Pending(images, imageIds) == 0, Patience,
            images => $"{Pending(images, imageIds)} of {imageIds.Count} images still pending", TimeSpan.FromMilliseconds(50));

    private static int Pending(Dictionary<Guid, Image> images, IReadOnlyCollection<Guid> imageIds) =>
        images.Values.Count(i => i.Status == ImageStatus.Pending) + imageIds.Count - images.Count;

    public static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}

[CollectionDefinition(Name)]
public sealed class WorkerCollection : ICollectionFixture<Worker>
{
    public const string Name = "preprocessing worker";
}
