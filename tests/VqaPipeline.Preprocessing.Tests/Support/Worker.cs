using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
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

    private readonly string _database = $"vqa_test_{Guid.NewGuid():N}";
    private WebApplication? _app;
    private ObjectStore? _store;
    private RabbitMqVirtualHost? _virtualHost;

    public string ConnectionString { get; private set; } = "";

    public ObjectStore Store => _store ?? throw new InvalidOperationException("the worker has not started");

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    public async Task InitializeAsync()
    {
        if (LocalStack.Skipped)
            return; // every test is skipped: see StackFactAttribute
        await ExecuteOnServerAsync($"CREATE DATABASE {_database}");
        ConnectionString = new NpgsqlConnectionStringBuilder(LocalStack.Get("VQA_POSTGRES")) { Database = _database }
            .ConnectionString;
        _virtualHost = await RabbitMqVirtualHost.CreateAsync("preprocessing");

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VQA_POSTGRES"] = ConnectionString,
            ["VQA_RABBITMQ_URL"] = _virtualHost.Url,
            ["Preprocessing:QueueName"] = $"preprocessing-tests-{Guid.NewGuid():N}",
        });
        builder.AddPreprocessing();
        _app = builder.Build();
        _app.MapPreprocessing();
        await _app.StartAsync();
        _store = _app.Services.GetRequiredService<ObjectStore>();
        await WaitUntilReadyAsync(new Uri(_app.Urls.Single()));
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        if (ConnectionString.Length == 0)
            return;
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
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
    public async Task<IReadOnlyDictionary<Guid, Image>> WaitForFinalAsync(IReadOnlyCollection<Guid> imageIds)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using var db = NewContext();
            var images = await db.Images.AsNoTracking().Where(i => imageIds.Contains(i.Id)).ToDictionaryAsync(i => i.Id);
            var pending = images.Values.Count(i => i.Status == ImageStatus.Pending) + imageIds.Count - images.Count;
            if (pending == 0)
                return images;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{pending} of {imageIds.Count} images still pending after {Patience}");
            await Task.Delay(50);
        }
    }

    public static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static async Task WaitUntilReadyAsync(Uri baseAddress)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var response = await http.GetAsync(ServiceDefaults.ReadyPath);
            if (response.StatusCode == HttpStatusCode.OK)
                return;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{ServiceDefaults.ReadyPath} still {(int)response.StatusCode} after {Patience}: "
                                           + await response.Content.ReadAsStringAsync());
            await Task.Delay(100);
        }
    }

    private static async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(LocalStack.Get("VQA_POSTGRES"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class WorkerCollection : ICollectionFixture<Worker>
{
    public const string Name = "preprocessing worker";
}
