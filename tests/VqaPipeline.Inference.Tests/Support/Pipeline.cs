using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion;
using VqaPipeline.Preprocessing;

namespace VqaPipeline.Inference.Tests.Support;

/// <summary>
/// Ingestion API and preprocessing worker hosted in this process against a database (<c>vqa_test_&lt;guid&gt;</c>) and
/// a RabbitMQ virtual host of their own, both deleted afterwards, and the local object store.
/// The inference worker is added by the subclasses: in-process, or as real processes.
/// </summary>
public abstract class Pipeline : IAsyncLifetime
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    private readonly string _database = $"vqa_test_{Guid.NewGuid():N}";
    private readonly List<WebApplication> _apps = [];
    private RabbitMqVirtualHost? _virtualHost;

    /// <summary>Queue names of this pipeline's inference workers.</summary>
    public Dictionary<string, string?> InferenceQueues { get; } = new()
    {
        ["Inference:JobsQueueName"] = $"inference-tests-jobs-{Guid.NewGuid():N}",
        ["Inference:ImagesQueueName"] = $"inference-tests-images-{Guid.NewGuid():N}",
        ["Inference:BatchQueueName"] = $"inference-tests-batches-{Guid.NewGuid():N}",
    };

    public string ConnectionString { get; private set; } = "";

    /// <summary>The AMQP URL of this pipeline's virtual host: every service and worker process uses it.</summary>
    public string BrokerUrl => _virtualHost?.Url ?? throw new InvalidOperationException("the pipeline is not started");

    public HttpClient Api { get; } = new() { Timeout = TimeSpan.FromSeconds(120) };

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    public virtual async Task InitializeAsync()
    {
        if (LocalStack.Skipped)
            return; // every test is skipped: see StackFactAttribute
        await ExecuteOnServerAsync($"CREATE DATABASE {_database}");
        ConnectionString = new NpgsqlConnectionStringBuilder(LocalStack.Get("VQA_POSTGRES")) { Database = _database }.ConnectionString;
        await DatabaseMigrator.MigrateAsync(ConnectionString);
        _virtualHost = await RabbitMqVirtualHost.CreateAsync("inference");

        var ingestion = IngestionService.Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["VQA_POSTGRES"] = ConnectionString, ["VQA_RABBITMQ_URL"] = BrokerUrl,
            });
        });
        await StartAsync(ingestion);
        Api.BaseAddress = new Uri(ingestion.Urls.Single());

        var preprocessing = WebApplication.CreateBuilder();
        preprocessing.WebHost.UseUrls("http://127.0.0.1:0");
        preprocessing.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VQA_POSTGRES"] = ConnectionString,
            ["VQA_RABBITMQ_URL"] = BrokerUrl,
            ["Preprocessing:QueueName"] = $"inference-tests-preprocessing-{Guid.NewGuid():N}",
        });
        preprocessing.AddPreprocessing();
        var preprocessingApp = preprocessing.Build();
        preprocessingApp.MapPreprocessing();
        await StartAsync(preprocessingApp);
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        Api.Dispose();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        if (ConnectionString.Length == 0)
            return;
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
    }

    /// <summary>Starts a hosted service and waits until its bus and dependencies are ready.</summary>
    protected async Task StartAsync(WebApplication app)
    {
        _apps.Add(app);
        await app.StartAsync();
        await WaitUntilReadyAsync(new Uri(app.Urls.Single()));
    }

    public async Task<Guid> NewCollectionAsync(string prefix)
    {
        using var response = await Api.PostAsJsonAsync("/collections", new { name = $"{prefix}-{Guid.NewGuid():N}" });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<CollectionResponse>())!.Id;
    }

    /// <summary>Uploads the files through the API and waits until preprocessing has made each ready or rejected.</summary>
    public async Task<IReadOnlyList<Image>> IngestAsync(Guid collectionId, IEnumerable<(string FileName, byte[] Bytes)> files)
    {
        foreach (var chunk in files.Chunk(50))
        {
            using var form = new MultipartFormDataContent();
            foreach (var (fileName, bytes) in chunk)
            {
                var part = new ByteArrayContent(bytes);
                part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                form.Add(part, "files", fileName);
            }
            using var response = await Api.PostAsync($"/collections/{collectionId}/images", form);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            var result = (await response.Content.ReadFromJsonAsync<IngestResponse>())!;
            Assert.Empty(result.Refused);
        }
        return await WaitUntilAsync(async db =>
        {
            var images = await db.Images.AsNoTracking().Where(i => i.CollectionId == collectionId)
                .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id).ToListAsync();
            return images.All(i => i.Status != ImageStatus.Pending) ? images : null;
        }, "images still pending");
    }

    public async Task<Guid> SubmitAsync(Guid collectionId, IReadOnlyList<string> questions, string model, int topK)
    {
        using var response = await Api.PostAsJsonAsync("/jobs", new { collectionId, questions, model, topK });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JobAcceptedResponse>())!.Id;
    }

    public Task<JobResponse> GetJobAsync(Guid jobId) => Api.GetFromJsonAsync<JobResponse>($"/jobs/{jobId}")!;

    /// <summary>Polls <c>GET /jobs/{id}</c> until the job is completed, failed or cancelled.</summary>
    public async Task<JobResponse> WaitForJobAsync(Guid jobId, Func<JobResponse, bool>? until = null)
    {
        until ??= job => job.Status is "completed" or "failed" or "cancelled";
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var job = await GetJobAsync(jobId);
            if (until(job))
                return job;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"job {jobId} still {job.Status} ({job.Done}+{job.Failed} of {job.Total}) after {Patience}");
            await Task.Delay(50);
        }
    }

    public async Task<T> WaitUntilAsync<T>(Func<VqaDbContext, Task<T?>> probe, string what) where T : class
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using (var db = NewContext())
                if (await probe(db) is { } value)
                    return value;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{what} after {Patience}");
            await Task.Delay(100);
        }
    }

    private static async Task WaitUntilReadyAsync(Uri baseAddress)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(ServiceDefaults.ReadyPath);
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException) when (deadline.Elapsed < Patience)
            {
                // a worker process not listening yet
            }
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{baseAddress}{ServiceDefaults.ReadyPath} not ready after {Patience}");
            await Task.Delay(100);
        }
    }

    /// <inheritdoc cref="WaitUntilReadyAsync(Uri)"/>
    protected static Task WaitUntilReadyAsync(int port) => WaitUntilReadyAsync(new Uri($"http://127.0.0.1:{port}"));

    private static async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(LocalStack.Get("VQA_POSTGRES"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
