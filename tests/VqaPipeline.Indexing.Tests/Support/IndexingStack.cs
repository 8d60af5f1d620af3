using Stopwatch = System.Diagnostics.Stopwatch;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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

    private readonly string _database = $"vqa_test_{Guid.NewGuid():N}";
    private readonly List<WebApplication> _apps = [];
    private RabbitMqVirtualHost? _virtualHost;

    public string ConnectionString { get; private set; } = "";

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
        if (LocalStack.Skipped)
            return; // every test is skipped: see StackFactAttribute
        await ExecuteOnServerAsync($"CREATE DATABASE {_database}");
        ConnectionString = new NpgsqlConnectionStringBuilder(LocalStack.Get("VQA_POSTGRES")) { Database = _database }.ConnectionString;
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
        void Configure(WebApplicationBuilder builder)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(settings);
        }

        Ingestion.BaseAddress = await StartAsync(IngestionService.Build([], Configure));
        settings["VQA_INGESTION_URL"] = Ingestion.BaseAddress.ToString();
        Indexing.BaseAddress = await StartAsync(IndexingService.Build([], Configure));

        var preprocessing = WebApplication.CreateBuilder();
        Configure(preprocessing);
        preprocessing.AddPreprocessing();
        var preprocessingApp = preprocessing.Build();
        preprocessingApp.MapPreprocessing();
        await StartAsync(preprocessingApp);

        var inference = WebApplication.CreateBuilder();
        Configure(inference);
        inference.AddInference();
        var inferenceApp = inference.Build();
        inferenceApp.MapInference();
        await StartAsync(inferenceApp);
    }

    public async Task DisposeAsync()
    {
        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        Ingestion.Dispose();
        Indexing.Dispose();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        if (ConnectionString.Length == 0)
            return;
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
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
    public async Task<string> WaitForJobAsync(Guid jobId)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var status = (await Ingestion.GetFromJsonAsync<JsonElement>($"/jobs/{jobId}")).GetProperty("status").GetString()!;
            if (status is "completed" or "failed" or "cancelled")
                return status;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"job {jobId} still {status} after {Patience}");
            await Task.Delay(100);
        }
    }

    /// <summary>Polls <paramref name="condition"/> on a fresh context until it holds, within <see cref="Patience"/>.</summary>
    public async Task WaitUntilAsync(Func<VqaDbContext, Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using (var db = NewDatabase())
                if (await condition(db))
                    return;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{what} after {Patience}");
            await Task.Delay(100);
        }
    }

    private async Task<Uri> StartAsync(WebApplication app)
    {
        _apps.Add(app);
        await app.StartAsync();
        var address = new Uri(app.Urls.Single());
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = Stopwatch.StartNew();
        // The bus binds its queues in the background after start; a message published before would be lost.
        while (true)
        {
            using var response = await http.GetAsync(ServiceDefaults.ReadyPath);
            if (response.StatusCode == HttpStatusCode.OK)
                return address;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{address}{ServiceDefaults.ReadyPath} still {(int)response.StatusCode} after {Patience}");
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
public sealed class IndexingStackCollection : ICollectionFixture<IndexingStack>
{
    public const string Name = "indexing stack";
}
