using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.StackTesting;
using VqaPipeline.Storage;
using VqaPipeline.Training.Data;

namespace VqaPipeline.Training.Tests.Support;

/// <summary>
/// Ingestion, preprocessing, training and inference in this process behind the gateway, on a provisioned database and
/// a RabbitMQ virtual host of their own (both deleted afterwards) and the local object store. Unless
/// <see cref="WithWorkers"/> is false, the training service trains in this process; otherwise it serves its API and a
/// test runs its worker as a process. Training runs, and inference keeps the models it downloads, in a work folder of
/// its own.
/// </summary>
public class TrainingStack : IAsyncLifetime
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private ServiceStack? _stack;

    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack is not started");

    public string WorkFolder { get; } = Directory.CreateTempSubdirectory("vqa-training-tests-").FullName;

    /// <summary>A client of the public API (the gateway).</summary>
    public HttpClient Api => Stack.Api;

    public ObjectStore Store => Stack.Store;

    /// <summary>Whether the training service trains runs in this process.</summary>
    protected virtual bool WithWorkers => true;

    /// <summary>The training service's schema: runs, model versions, its event log.</summary>
    public TrainingDbContext NewContext() => Stack.Training();

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "training",
            ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>
            {
                [Services.Training] = TrainingServiceSettings(),
                [Services.Inference] = new Dictionary<string, string?> { ["Models:CacheDir"] = Path.Combine(WorkFolder, "inference-models") },
            },
            Patience = Patience,
        });

    /// <summary>The in-process training service's settings.</summary>
    protected virtual Dictionary<string, string?> TrainingServiceSettings() => TrainingSettings(runWorker: WithWorkers);

    /// <summary>The training service's settings for this stack, as configuration keys.</summary>
    public Dictionary<string, string?> TrainingSettings(bool runWorker = true) => new()
    {
        ["Training:WorkFolder"] = WorkFolder,
        ["Training:HeartbeatInterval"] = "00:00:00.500",
        ["Training:HeartbeatTimeout"] = "00:00:03",
        ["Training:PollInterval"] = "00:00:00.500",
        ["Training:LogEvery"] = "1",
        ["Training:RunWorker"] = runWorker ? "true" : "false",
        ["Training:Limits:MaxTrainingExamples"] = MaxTrainingExamples.ToString(),
    };

    /// <summary>Low enough that a test can go over it with a few labels, high enough for every run the tests train.</summary>
    public const int MaxTrainingExamples = 1_000;

    /// <summary>The built training service as a process of its own, training runs.</summary>
    public Task<WorkerProcess> StartWorkerProcessAsync() => Stack.StartProcessAsync(Services.Training, TrainingSettings());

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
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
            await using var db = Stack.Ingestion();
            return !await db.Images.AnyAsync(i => i.CollectionId == collectionId && i.Status == ImageStatus.Pending);
        }, Patience, $"images of collection {collectionId} still pending");
        return (collectionId, imageIds);
    }

    /// <summary>A new collection of <paramref name="images"/> fixture images, each labelled with its own answer to one question.</summary>
    public async Task<Guid> NewLabelledCollectionAsync(int images)
    {
        var (collectionId, imageIds) = await NewCollectionAsync(Fixtures.Images().Take(images));
        (await Api.PostAsJsonAsync($"/collections/{collectionId}/labels", imageIds.Select((imageId, index) =>
            new { imageId, question = "Which one?", answers = new[] { $"image{index}" } }))).EnsureSuccessStatusCode();
        return collectionId;
    }

    /// <summary><c>POST /training-runs</c>, which must accept <paramref name="body"/>; the new run's id.</summary>
    public async Task<Guid> StartRunAsync(object body)
    {
        using var response = await Api.PostAsJsonAsync("/training-runs", body);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = accepted.GetProperty("id").GetGuid();
        Assert.Equal($"/training-runs/{id}", accepted.GetProperty("statusUrl").GetString());
        Assert.Equal($"/training-runs/{id}", response.Headers.Location?.OriginalString);
        return id;
    }

    /// <summary>Polls <c>GET /training-runs/{id}</c> until the run is completed, failed or cancelled.</summary>
    public Task<JsonElement> WaitForRunAsync(Guid runId, TimeSpan? patience = null) =>
        Poll.UntilAsync(() => Api.GetFromJsonAsync<JsonElement>($"/training-runs/{runId}"),
            run => run.GetProperty("status").GetString() is "completed" or "failed" or "cancelled", patience ?? Patience,
            run => $"training run {runId} still {run}", TimeSpan.FromMilliseconds(200));

    /// <summary>Polls <c>GET /jobs/{id}</c> until the job is completed, failed or cancelled.</summary>
    public Task<JsonElement> WaitForJobAsync(Guid jobId) =>
        Poll.UntilAsync(() => Api.GetFromJsonAsync<JsonElement>($"/jobs/{jobId}"),
            job => job.GetProperty("status").GetString() is "completed" or "failed" or "cancelled", Patience,
            job => $"job {jobId} still {job}");
}

/// <summary>The stack without an in-process training worker: tests run the worker as a separate process.</summary>
public sealed class TrainingStackWithoutWorker : TrainingStack
{
    protected override bool WithWorkers => false;
}

/// <summary>The stack with the training service's object store behind a <see cref="FaultyStorageProxy"/>.</summary>
public sealed class TrainingStackWithFaultyStorage : TrainingStack, IAsyncLifetime
{
    /// <summary>The relay in front of the object store of <c>VQA_S3_ENDPOINT</c> (nothing listens there when the stack is skipped).</summary>
    public FaultyStorageProxy Proxy { get; } =
        new(new Uri(Environment.GetEnvironmentVariable("VQA_S3_ENDPOINT") is { Length: > 0 } endpoint ? endpoint : "http://127.0.0.1:9"));

    /// <summary>Short, so that an upload held back for less than the store's idle timeout outlasts it.</summary>
    public static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(1.5);

    public new async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Proxy.DisposeAsync();
    }

    protected override Dictionary<string, string?> TrainingServiceSettings()
    {
        var settings = TrainingSettings();
        // The alias, not Storage:Endpoint: a VQA_S3_ENDPOINT in the environment would win over the key.
        settings["VQA_S3_ENDPOINT"] = Proxy.Endpoint.ToString();
        settings["Training:UploadRetryDelay"] = "00:00:00.200";
        settings["Training:HeartbeatTimeout"] = HeartbeatTimeout.ToString();
        return settings;
    }
}
