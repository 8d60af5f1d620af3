using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Npgsql;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Inference;
using VqaPipeline.Ingestion;
using VqaPipeline.Preprocessing;
using VqaPipeline.Storage;
using VqaPipeline.Training;

namespace VqaPipeline.Training.Tests.Support;

/// <summary>
/// Ingestion, preprocessing and (unless <see cref="WithWorkers"/> is false) training and inference hosted in this
/// process on free ports, against a database (<c>vqa_test_&lt;guid&gt;</c>) and a RabbitMQ virtual host of their own,
/// both deleted afterwards, and the local object store. Training runs, and inference keeps the models it downloads,
/// in a work folder of its own.
/// </summary>
public class TrainingStack : IAsyncLifetime
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private readonly string _database = $"vqa_test_{Guid.NewGuid():N}";
    private readonly List<WebApplication> _apps = [];
    private RabbitMqVirtualHost? _virtualHost;

    public string ConnectionString { get; private set; } = "";

    public string WorkFolder { get; } = Directory.CreateTempSubdirectory("vqa-training-tests-").FullName;

    public string TrainingQueue { get; } = $"training-tests-{Guid.NewGuid():N}";

    public HttpClient Api { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public ObjectStore Store { get; private set; } = null!;

    /// <summary>Whether the training and inference workers run in this process.</summary>
    protected virtual bool WithWorkers => true;

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    public async Task InitializeAsync()
    {
        if (LocalStack.Skipped)
            return; // every test is skipped: see StackFactAttribute
        await ExecuteOnServerAsync($"CREATE DATABASE {_database}");
        ConnectionString = new NpgsqlConnectionStringBuilder(LocalStack.Get("VQA_POSTGRES")) { Database = _database }.ConnectionString;
        Store = new ObjectStore(ObjectStoreOptions.FromEnvironment());
        _virtualHost = await RabbitMqVirtualHost.CreateAsync("training");
        var settings = new Dictionary<string, string?> { ["VQA_POSTGRES"] = ConnectionString, ["VQA_RABBITMQ_URL"] = _virtualHost.Url };

        var ingestion = IngestionService.Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(settings);
        });
        await StartAsync(ingestion);
        Api.BaseAddress = new Uri(ingestion.Urls.Single());

        var preprocessing = WebApplication.CreateBuilder();
        preprocessing.WebHost.UseUrls("http://127.0.0.1:0");
        preprocessing.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["Preprocessing:QueueName"] = $"training-tests-preprocessing-{Guid.NewGuid():N}",
        });
        preprocessing.AddPreprocessing();
        var preprocessingApp = preprocessing.Build();
        preprocessingApp.MapPreprocessing();
        await StartAsync(preprocessingApp);

        if (!WithWorkers)
            return;
        var training = WebApplication.CreateBuilder();
        training.WebHost.UseUrls("http://127.0.0.1:0");
        training.Configuration.AddInMemoryCollection(TrainingSettings());
        training.AddTraining();
        var trainingApp = training.Build();
        trainingApp.MapTraining();
        await StartAsync(trainingApp);

        var inference = WebApplication.CreateBuilder();
        inference.WebHost.UseUrls("http://127.0.0.1:0");
        inference.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["Inference:JobsQueueName"] = $"training-tests-jobs-{Guid.NewGuid():N}",
            ["Inference:ImagesQueueName"] = $"training-tests-images-{Guid.NewGuid():N}",
            ["Inference:BatchQueueName"] = $"training-tests-batches-{Guid.NewGuid():N}",
            ["Inference:ModelCacheDir"] = Path.Combine(WorkFolder, "inference-models"),
        });
        inference.AddInference();
        var inferenceApp = inference.Build();
        inferenceApp.MapInference();
        await StartAsync(inferenceApp);
    }

    /// <summary>The training worker's settings for this stack, as configuration keys.</summary>
    public Dictionary<string, string?> TrainingSettings() => new()
    {
        ["VQA_POSTGRES"] = ConnectionString,
        ["VQA_RABBITMQ_URL"] = _virtualHost?.Url,
        ["Training:QueueName"] = TrainingQueue,
        ["Training:WorkFolder"] = WorkFolder,
        ["Training:HeartbeatInterval"] = "00:00:00.500",
        ["Training:HeartbeatTimeout"] = "00:00:03",
        ["Training:PollInterval"] = "00:00:00.500",
        ["Training:LogEvery"] = "1",
    };

    public async Task DisposeAsync()
    {
        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        Api.Dispose();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        if (ConnectionString.Length > 0)
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        }
        Directory.Delete(WorkFolder, recursive: true);
    }

    /// <summary>A new collection holding <paramref name="files"/>, every image ready (or rejected).</summary>
    public async Task<(Guid CollectionId, IReadOnlyList<Guid> ImageIds)> NewCollectionAsync(IEnumerable<string> files)
    {
        using var created = await Api.PostAsJsonAsync("/collections", new { name = $"training-{Guid.NewGuid():N}" });
        created.EnsureSuccessStatusCode();
        var collectionId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        using var form = new MultipartFormDataContent();
        foreach (var file in files)
            form.Add(new ByteArrayContent(await File.ReadAllBytesAsync(file)), "files", Path.GetFileName(file));
        using var uploaded = await Api.PostAsync($"/collections/{collectionId}/images", form);
        uploaded.EnsureSuccessStatusCode();
        var imageIds = (await uploaded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").EnumerateArray()
            .Select(image => image.GetProperty("imageId").GetGuid()).ToList();

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using var db = NewContext();
            if (!await db.Images.AnyAsync(i => i.CollectionId == collectionId && i.Status == ImageStatus.Pending))
                return (collectionId, imageIds);
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"images of collection {collectionId} still pending after {Patience}");
            await Task.Delay(100);
        }
    }

    /// <summary>Polls <c>GET /training-runs/{id}</c> until the run is completed or failed.</summary>
    public async Task<JsonElement> WaitForRunAsync(Guid runId, TimeSpan? patience = null)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var run = await Api.GetFromJsonAsync<JsonElement>($"/training-runs/{runId}");
            if (run.GetProperty("status").GetString() is "completed" or "failed")
                return run;
            if (deadline.Elapsed > (patience ?? Patience))
                throw new TimeoutException($"training run {runId} still {run} after {patience ?? Patience}");
            await Task.Delay(200);
        }
    }

    /// <summary>Polls <c>GET /jobs/{id}</c> until the job is completed, failed or cancelled.</summary>
    public async Task<JsonElement> WaitForJobAsync(Guid jobId)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var job = await Api.GetFromJsonAsync<JsonElement>($"/jobs/{jobId}");
            if (job.GetProperty("status").GetString() is "completed" or "failed" or "cancelled")
                return job;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"job {jobId} still {job} after {Patience}");
            await Task.Delay(100);
        }
    }

    private async Task StartAsync(WebApplication app)
    {
        _apps.Add(app);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromSeconds(10) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var response = await http.GetAsync(ServiceDefaults.ReadyPath);
            if (response.StatusCode == HttpStatusCode.OK)
                return;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{ServiceDefaults.ReadyPath} still {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
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

/// <summary>The stack without in-process workers: tests run the training worker as a separate process.</summary>
public sealed class TrainingStackWithoutWorker : TrainingStack
{
    protected override bool WithWorkers => false;
}
