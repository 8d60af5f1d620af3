using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Inference.Data;
using VqaPipeline.Ingestion;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Inference.Tests.Support;

/// <summary>
/// Ingestion and preprocessing in this process behind the gateway, on a provisioned database and a RabbitMQ virtual
/// host of their own (both deleted afterwards) and the local object store. The inference service is added by the
/// subclasses: in-process, or its API in-process and its workers as real processes.
/// </summary>
public abstract class Pipeline : IAsyncLifetime
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    private ServiceStack? _stack;

    protected ServiceStack Stack => _stack ?? throw new InvalidOperationException("the pipeline is not started");

    /// <summary>The queues of the inference workers (the service's own names, in this pipeline's virtual host).</summary>
    public Dictionary<string, string?> InferenceQueues { get; } = new()
    {
        ["Inference:JobsQueueName"] = new InferenceOptions().JobsQueueName,
        ["Inference:ImagesQueueName"] = new InferenceOptions().ImagesQueueName,
        ["Inference:BatchQueueName"] = new InferenceOptions().BatchQueueName,
    };

    /// <summary>The AMQP URL of this pipeline's virtual host: every service and worker process uses it.</summary>
    public string BrokerUrl => Stack.BrokerUrl;

    /// <summary>A client of the public API (the gateway).</summary>
    public HttpClient Api => Stack.Api;

    /// <summary>The id of the team whose key <see cref="Api"/> sends.</summary>
    public Guid TeamId => Stack.TeamId;

    /// <summary>Another team with an admin key of its own (<see cref="OtherTeam"/>).</summary>
    public Task<OtherTeam> OtherTeamAsync(string name) => OtherTeam.CreateAsync(Stack, name);

    /// <summary>The inference service's schema (jobs, answers, their event log).</summary>
    public InferenceDbContext NewContext() => Stack.Inference();

    /// <summary>How this pipeline's inference service runs in this process (the test doubles it adds).</summary>
    protected abstract StackOptions Options(StackOptions defaults);

    public virtual async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(Options(new StackOptions
        {
            Purpose = "inference",
            InProcess = [Services.Ingestion, Services.Preprocessing, Services.Inference],
            // Empty, whatever the environment says: a job naming no model runs the bundled model.
            ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>
            {
                [Services.Inference] = new Dictionary<string, string?> { ["VQA_DEFAULT_MODEL"] = "" },
            },
            Patience = Patience,
        }));

    public virtual async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
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
        return (await Poll.UntilAsync(async () =>
        {
            await using var db = Stack.Ingestion();
            var images = await db.Images.AsNoTracking().Where(i => i.CollectionId == collectionId)
                .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id).ToListAsync();
            return images.All(i => i.Status != ImageStatus.Pending) ? images : null;
        }, images => images is not null, Patience, _ => "images still pending"))!;
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
}
