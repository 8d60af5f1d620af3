using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Data;
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

    private readonly ScratchDatabase _database = new();
    private readonly InProcessServices _services = new(Patience);
    private RabbitMqVirtualHost? _virtualHost;

    public string ConnectionString => _database.ConnectionString;

    public string WorkFolder { get; } = Directory.CreateTempSubdirectory("vqa-training-tests-").FullName;

    public string TrainingQueue { get; } = $"training-tests-{Guid.NewGuid():N}";

    public HttpClient Api { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public ObjectStore Store { get; private set; } = null!;

    /// <summary>Whether the training and inference workers run in this process.</summary>
    protected virtual bool WithWorkers => true;

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        if (LocalStack.Skipped)
            return; // every test is skipped: see StackFactAttribute
        Store = new ObjectStore(ObjectStoreOptions.FromEnvironment());
        _virtualHost = await RabbitMqVirtualHost.CreateAsync("training");
        var settings = new Dictionary<string, string?> { ["VQA_POSTGRES"] = ConnectionString, ["VQA_RABBITMQ_URL"] = _virtualHost.Url };

        Api.BaseAddress = await _services.StartAsync(IngestionService.Build([], builder => InProcessServices.Configure(builder, settings)));

        var preprocessing = InProcessServices.NewBuilder(new Dictionary<string, string?>(settings)
        {
            ["Preprocessing:QueueName"] = $"training-tests-preprocessing-{Guid.NewGuid():N}",
        });
        preprocessing.AddPreprocessing();
        await _services.StartAsync(preprocessing.Build().MapPreprocessing());

        if (!WithWorkers)
            return;
        var training = InProcessServices.NewBuilder(TrainingSettings());
        training.AddTraining();
        await _services.StartAsync(training.Build().MapTraining());

        var inference = InProcessServices.NewBuilder(new Dictionary<string, string?>(settings)
        {
            ["Inference:JobsQueueName"] = $"training-tests-jobs-{Guid.NewGuid():N}",
            ["Inference:ImagesQueueName"] = $"training-tests-images-{Guid.NewGuid():N}",
            ["Inference:BatchQueueName"] = $"training-tests-batches-{Guid.NewGuid():N}",
            ["Inference:ModelCacheDir"] = Path.Combine(WorkFolder, "inference-models"),
        });
        inference.AddInference();
        await _services.StartAsync(inference.Build().MapInference());
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
        await _services.DisposeAsync();
        Api.Dispose();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        await _database.DisposeAsync();
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

        await Poll.UntilAsync(async () =>
        {
            await using var db = NewContext();
            return !await db.Images.AnyAsync(i => i.CollectionId == collectionId && i.Status == ImageStatus.Pending);
        }, Patience, $"images of collection {collectionId} still pending");
        return (collectionId, imageIds);
    }

    /// <summary>Polls <c>GET /training-runs/{id}</c> until the run is completed or failed.</summary>
    public Task<JsonElement> WaitForRunAsync(Guid runId, TimeSpan? patience = null) =>
        Poll.UntilAsync(() => Api.GetFromJsonAsync<JsonElement>($"/training-runs/{runId}"),
            run => run.GetProperty("status").GetString() is "completed" or "failed", patience ?? Patience,
            run => $"training run {runId} still {run}", TimeSpan.FromMilliseconds(200));

    /// <summary>Polls <c>GET /jobs/{id}</c> until the job is completed, failed or cancelled.</summary>
    public Task<JsonElement> WaitForJobAsync(Guid jobId) =>
        Poll.UntilAsync(() => Api.GetFromJsonAsync<JsonElement>($"/jobs/{jobId}"),
            job => job.GetProperty("status").GetString() is "completed" or "failed" or "cancelled", Patience,
            job => $"job {jobId} still {job}");
}

/// <summary>The stack without in-process workers: tests run the training worker as a separate process.</summary>
public sealed class TrainingStackWithoutWorker : TrainingStack
{
    protected override bool WithWorkers => false;
}
