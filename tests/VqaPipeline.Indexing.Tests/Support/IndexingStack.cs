using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Inference;
using VqaPipeline.Ingestion;
using VqaPipeline.Preprocessing;

namespace VqaPipeline.Indexing.Tests.Support;

/// <summary>
/// The ingestion API (with its jobs API), the preprocessing worker, the inference worker and the indexing service
/// hosted in this process on free ports of 127.0.0.1, against the local S3 server, a virtual host of their own on the
/// local RabbitMQ and a PostgreSQL database of their own (<c>vqa_test_&lt;guid&gt;</c>), both deleted afterwards.
/// Question jobs, whether a test or a search starts them, run the tiny fixture model.
/// </summary>
public sealed class IndexingStack : IAsyncLifetime
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private readonly ScratchDatabase _database = new();
    private readonly InProcessServices _services = new(Patience);
    private RabbitMqVirtualHost? _virtualHost;

    public string ConnectionString => _database.ConnectionString;

    /// <summary>The AMQP URL of this stack's virtual host (for the processes tests start).</summary>
    public string BrokerUrl => _virtualHost?.Url ?? throw new InvalidOperationException("the stack is not started");

    /// <summary>The model a job runs when it names none (<c>VQA_DEFAULT_MODEL</c> of the ingestion host).</summary>
    public static string JobModel => Fixtures.PathOf("vilt-tiny");

    /// <summary>A client of the ingestion API.</summary>
    public HttpClient Ingestion { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>A client of the indexing API.</summary>
    public HttpClient Indexing { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public VqaDbContext NewDatabase() => new(VqaDbContext.OptionsFor(ConnectionString));

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        if (LocalStack.Skipped)
            return; // every test is skipped: see StackFactAttribute
        _virtualHost = await RabbitMqVirtualHost.CreateAsync("indexing");
        var settings = new Dictionary<string, string?>
        {
            ["VQA_POSTGRES"] = ConnectionString,
            ["VQA_RABBITMQ_URL"] = BrokerUrl,
            ["VQA_DEFAULT_MODEL"] = JobModel,
            ["Preprocessing:QueueName"] = $"indexing-tests-preprocessing-{Guid.NewGuid():N}",
            ["Inference:JobsQueueName"] = $"indexing-tests-jobs-{Guid.NewGuid():N}",
            ["Inference:ImagesQueueName"] = $"indexing-tests-images-{Guid.NewGuid():N}",
            ["Inference:BatchQueueName"] = $"indexing-tests-batches-{Guid.NewGuid():N}",
            ["Indexing:QueueName"] = $"indexing-tests-answers-{Guid.NewGuid():N}",
        };
        void Configure(WebApplicationBuilder builder) => InProcessServices.Configure(builder, settings);

        Ingestion.BaseAddress = await _services.StartAsync(IngestionService.Build([], Configure));
        settings["VQA_INGESTION_URL"] = Ingestion.BaseAddress.ToString();
        Indexing.BaseAddress = await _services.StartAsync(IndexingService.Build([], Configure));

        var preprocessing = InProcessServices.NewBuilder(settings);
        preprocessing.AddPreprocessing();
        await _services.StartAsync(preprocessing.Build().MapPreprocessing());

        var inference = InProcessServices.NewBuilder(settings);
        inference.AddInference();
        await _services.StartAsync(inference.Build().MapInference());
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        Ingestion.Dispose();
        Indexing.Dispose();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>A new collection with every fixture image uploaded and preprocessed; returns its id and the images by file name.</summary>
    public async Task<(Guid CollectionId, IReadOnlyDictionary<string, Guid> Images)> NewCollectionWithFixtureImagesAsync()
    {
        using var created = await Ingestion.PostAsJsonAsync("/collections", new { name = $"indexing-{Guid.NewGuid():N}" });
        created.EnsureSuccessStatusCode();
        var collectionId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        using var form = new MultipartFormDataContent();
        foreach (var path in Fixtures.Images())
            form.Add(new ByteArrayContent(await File.ReadAllBytesAsync(path)), "files", Path.GetFileName(path));
        using var uploaded = await Ingestion.PostAsync($"/collections/{collectionId}/images", form);
        uploaded.EnsureSuccessStatusCode();
        var accepted = (await uploaded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").EnumerateArray()
            .ToDictionary(image => image.GetProperty("fileName").GetString()!, image => image.GetProperty("imageId").GetGuid());
        Assert.Equal(Fixtures.Images().Count, accepted.Count);
        await WaitUntilAsync(async db => !await db.Images.AnyAsync(i => i.CollectionId == collectionId && i.Status == ImageStatus.Pending),
            $"images of {collectionId} still pending");
        return (collectionId, accepted);
    }

    /// <summary>
    /// Puts answers into the outbox as the inference service does; the ingestion host's outbox dispatcher publishes
    /// them (this database is the one it serves).
    /// </summary>
    public async Task ProduceAsync(IEnumerable<AnswersProduced> messages)
    {
        await using var db = NewDatabase();
        foreach (var message in messages)
            db.AddOutgoing(message, message.CollectionId, message.ImageId, message.JobId);
        await db.SaveChangesAsync();
    }

    /// <summary>Polls <c>GET /jobs/{id}</c> until the job is completed, failed or cancelled; returns its status.</summary>
    public Task<string> WaitForJobAsync(Guid jobId) =>
        Poll.UntilAsync(async () => (await Ingestion.GetFromJsonAsync<JsonElement>($"/jobs/{jobId}")).GetProperty("status").GetString()!,
            status => status is "completed" or "failed" or "cancelled", Patience, status => $"job {jobId} still {status}");

    /// <summary>Polls <paramref name="condition"/> on a fresh context until it holds, within <see cref="Patience"/>.</summary>
    public Task WaitUntilAsync(Func<VqaDbContext, Task<bool>> condition, string what) =>
        Poll.UntilAsync(async () =>
        {
            await using var db = NewDatabase();
            return await condition(db);
        }, Patience, what);
}

[CollectionDefinition(Name)]
public sealed class IndexingStackCollection : ICollectionFixture<IndexingStack>
{
    public const string Name = "indexing stack";
}
