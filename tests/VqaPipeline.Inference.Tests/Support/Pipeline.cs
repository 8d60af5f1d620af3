using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Data;
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

    private readonly ScratchDatabase _database = new();
    private readonly InProcessServices _services = new(Patience);
    private RabbitMqVirtualHost? _virtualHost;

    /// <summary>Queue names of this pipeline's inference workers.</summary>
    public Dictionary<string, string?> InferenceQueues { get; } = new()
    {
        ["Inference:JobsQueueName"] = $"inference-tests-jobs-{Guid.NewGuid():N}",
        ["Inference:ImagesQueueName"] = $"inference-tests-images-{Guid.NewGuid():N}",
        ["Inference:BatchQueueName"] = $"inference-tests-batches-{Guid.NewGuid():N}",
    };

    public string ConnectionString => _database.ConnectionString;

    /// <summary>The AMQP URL of this pipeline's virtual host: every service and worker process uses it.</summary>
    public string BrokerUrl => _virtualHost?.Url ?? throw new InvalidOperationException("the pipeline is not started");

    public HttpClient Api { get; } = new() { Timeout = TimeSpan.FromSeconds(120) };

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    public virtual async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        if (LocalStack.Skipped)
            return; // every test is skipped: see StackFactAttribute
        await DatabaseMigrator.MigrateAsync(ConnectionString);
        _virtualHost = await RabbitMqVirtualHost.CreateAsync("inference");
        var settings = new Dictionary<string, string?> { ["VQA_POSTGRES"] = ConnectionString, ["VQA_RABBITMQ_URL"] = BrokerUrl };

        // Empty, whatever the environment says: a job naming no model runs the bundled model.
        var ingestion = new Dictionary<string, string?>(settings) { ["VQA_DEFAULT_MODEL"] = "" };
        Api.BaseAddress = await StartAsync(IngestionService.Build([], builder => InProcessServices.Configure(builder, ingestion)));

        var preprocessing = InProcessServices.NewBuilder(new Dictionary<string, string?>(settings)
        {
            ["Preprocessing:QueueName"] = $"inference-tests-preprocessing-{Guid.NewGuid():N}",
        });
        preprocessing.AddPreprocessing();
        await StartAsync(preprocessing.Build().MapPreprocessing());
    }

    public virtual async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        Api.Dispose();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>Starts a hosted service and waits until its bus and dependencies are ready.</summary>
    protected Task<Uri> StartAsync(WebApplication app) => _services.StartAsync(app);

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

    /// <summary>Submits a job; a <c>null</c> model leaves it out of the request, so the default model runs.</summary>
    public async Task<Guid> SubmitAsync(Guid collectionId, IReadOnlyList<string> questions, string? model, int topK)
    {
        using var response = model is null
            ? await Api.PostAsJsonAsync("/jobs", new { collectionId, questions, topK })
            : await Api.PostAsJsonAsync("/jobs", new { collectionId, questions, model, topK });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JobAcceptedResponse>())!.Id;
    }

    public Task<JobResponse> GetJobAsync(Guid jobId) => Api.GetFromJsonAsync<JobResponse>($"/jobs/{jobId}")!;

    /// <summary>Polls <c>GET /jobs/{id}</c> until the job is completed, failed or cancelled.</summary>
    public Task<JobResponse> WaitForJobAsync(Guid jobId, Func<JobResponse, bool>? until = null) =>
        Poll.UntilAsync(() => GetJobAsync(jobId), until ?? (job => job.Status is "completed" or "failed" or "cancelled"), Patience,
            job => $"job {jobId} still {job.Status} ({job.Done}+{job.Failed} of {job.Total})", TimeSpan.FromMilliseconds(50));

    public async Task<T> WaitUntilAsync<T>(Func<VqaDbContext, Task<T?>> probe, string what) where T : class =>
        (await Poll.UntilAsync(async () =>
        {
            await using var db = NewContext();
            return await probe(db);
        }, value => value is not null, Patience, _ => what))!;
}
