using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Gateway;
using VqaPipeline.Ingestion;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Inference;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Pipeline.Tests.Support;

/// <summary>
/// Every service in this process behind the gateway, with the spans of the whole process collected (a processor on the
/// gateway's tracer provider: activity listeners are process-wide, so it receives every service's spans), and one small
/// pipeline run shared by the tests that look at it: an uploaded image followed from ingestion to indexing, a corrupt
/// upload, a consume that fails once, a short training run.
/// </summary>
public sealed class ObservedStack : IAsyncLifetime
{
    /// <summary>The activity source of the test's own spans (the root of the upload it follows).</summary>
    public const string TestSourceName = "VqaPipeline.Pipeline.Tests";

    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    private static readonly ActivitySource TestSource = new(TestSourceName);
    private readonly SemaphoreSlim _runOnce = new(1, 1);
    private readonly string _workFolder = Directory.CreateTempSubdirectory("vqa-observability-tests-").FullName;
    private ServiceStack? _stack;
    private PipelineRun? _run;

    public SpanCollector Spans { get; } = new();

    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack is not started");

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "observability",
            Settings = new Dictionary<string, string?>
            {
                ["Outbox:MeasureInterval"] = "00:00:00.500",
                ["Monitoring:QueueDepthInterval"] = "00:00:00.500",
            },
            ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>
            {
                // A batch waits for more commands long enough that the image uploaded after the job started is heard of
                // before the job's first image is answered (and the job, with nothing left, completes).
                [Services.Inference] = new Dictionary<string, string?>
                {
                    ["Inference:BatchTimeLimit"] = "00:00:03", ["Models:CacheDir"] = Path.Combine(_workFolder, "models"),
                },
                [Services.Training] = new Dictionary<string, string?>
                {
                    ["Training:WorkFolder"] = _workFolder, ["Training:PollInterval"] = "00:00:00.500", ["Training:LogEvery"] = "1",
                },
            },
            Configure = (service, builder) =>
            {
                if (service == GatewayService.Name)
                    builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(TestSourceName).AddProcessor(Spans));
            },
            ConfigureBus = (service, bus) =>
            {
                if (service == Services.Indexing)
                    bus.AddConsumer<FailsOnceConsumer>();
            },
            Patience = Patience,
        });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
        Directory.Delete(_workFolder, recursive: true);
    }

    /// <summary>Runs the small pipeline once for every test of the fixture; returns what it did.</summary>
    public async Task<PipelineRun> RunOnceAsync()
    {
        await _runOnce.WaitAsync();
        try
        {
            return _run ??= await RunAsync();
        }
        finally
        {
            _runOnce.Release();
        }
    }

    /// <summary>The Prometheus text of every service's <c>/metrics</c>, by service.</summary>
    public async Task<Dictionary<string, string>> ScrapeAsync()
    {
        using var client = new HttpClient();
        var scrapes = new Dictionary<string, string>();
        foreach (var service in ServiceStack.Services.Append(GatewayService.Name))
            scrapes[service] = await client.GetStringAsync(new Uri(Stack.AddressOf(service), "metrics"));
        return scrapes;
    }

    private async Task<PipelineRun> RunAsync()
    {
        var collectionId = await NewCollectionAsync();
        var first = (await UploadAsync(collectionId, ("first.png", TestImages.Png(1)))).Accepted.Single().ImageId;
        await WaitUntilFinalAsync(first);
        var rejected = await UploadAsync(collectionId, ("corrupt.png", TestImages.Png(2)[..40]));
        await WaitUntilFinalAsync(rejected.Accepted.Single().ImageId);

        // The image followed is uploaded while a job over its collection runs, so it is answered in its upload's trace
        // (a job started after it was ready would take it in the job's). A job that ends before it hears of the image
        // leaves it out: then another job and another upload.
        for (var attempt = 1; ; attempt++)
        {
            var jobId = await SubmitJobAsync(collectionId);
            await WaitForJobAsync(jobId, status => status != "pending");
            Guid imageId;
            ActivityTraceId traceId;
            using (var upload = TestSource.StartActivity("upload"))
            {
                traceId = upload!.TraceId;
                imageId = (await UploadAsync(collectionId, ($"followed-{attempt}.png", TestImages.Png(100 + attempt)))).Accepted.Single().ImageId;
            }
            await WaitForJobAsync(jobId, status => status is "completed" or "failed" or "cancelled");
            var answers = await Stack.Api.GetStringAsync($"/jobs/{jobId}/answers?format=jsonl");
            if (answers.Contains(imageId.ToString()))
            {
                var runId = await TrainAsync(collectionId, first);
                return new PipelineRun(collectionId, imageId, jobId, traceId, runId);
            }
            if (attempt == 3)
                throw new InvalidOperationException($"three jobs ended before they heard of the image uploaded while they ran: {answers}");
        }
    }

    private async Task<Guid> TrainAsync(Guid collectionId, Guid imageId)
    {
        var labels = new[] { new { imageId, question = "What is in the picture?", answers = new[] { "noise" } } };
        (await Stack.Api.PostAsJsonAsync($"/collections/{collectionId}/labels", labels)).EnsureSuccessStatusCode();
        using var response = await Stack.Api.PostAsJsonAsync("/training-runs", new
        {
            modelName = $"observed-{Guid.NewGuid():N}"[..20], dataset = new { collectionId }, baseModel = Fixtures.PathOf("vilt-tiny"),
            maxSteps = 2, batchSize = 1,
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var run = await Poll.UntilAsync(() => Stack.Api.GetFromJsonAsync<JsonElement>($"/training-runs/{runId}"),
            run => run.GetProperty("status").GetString() is "completed" or "failed" or "cancelled", Patience,
            run => $"training run {runId} still {run}", TimeSpan.FromMilliseconds(200));
        Assert.Equal("completed", run.GetProperty("status").GetString());
        return runId;
    }

    private async Task<Guid> NewCollectionAsync()
    {
        using var response = await Stack.Api.PostAsJsonAsync("/collections", new { name = $"observed-{Guid.NewGuid():N}" });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<CollectionResponse>())!.Id;
    }

    private async Task<IngestResponse> UploadAsync(Guid collectionId, (string FileName, byte[] Bytes) file)
    {
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(file.Bytes);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(part, "files", file.FileName);
        using var response = await Stack.Api.PostAsync($"/collections/{collectionId}/images", form);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<IngestResponse>())!;
    }

    private Task WaitUntilFinalAsync(Guid imageId) =>
        Poll.UntilAsync(async () =>
        {
            await using var db = Stack.Ingestion();
            return await db.Images.AsNoTracking().AnyAsync(i => i.Id == imageId && i.Status != ImageStatus.Pending);
        }, Patience, $"image {imageId} still pending", TimeSpan.FromMilliseconds(50));

    private async Task<Guid> SubmitJobAsync(Guid collectionId)
    {
        using var response = await Stack.Api.PostAsJsonAsync("/jobs", new
        {
            collectionId, questions = new[] { "What is in the picture?" }, model = Fixtures.PathOf("vilt-tiny"), topK = 1,
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JobAcceptedResponse>())!.Id;
    }

    private Task<JobResponse> WaitForJobAsync(Guid jobId, Func<string, bool> until) =>
        Poll.UntilAsync(() => Stack.Api.GetFromJsonAsync<JobResponse>($"/jobs/{jobId}")!, job => until(job!.Status), Patience,
            job => $"job {jobId} still {job?.Status}", TimeSpan.FromMilliseconds(50))!;
}

/// <summary>What the shared pipeline run did.</summary>
public sealed record PipelineRun(Guid CollectionId, Guid FollowedImageId, Guid JobId, ActivityTraceId UploadTrace, Guid TrainingRunId);

/// <summary>Every span that ended in this process, as the tracer provider exports it.</summary>
public sealed class SpanCollector : BaseProcessor<Activity>
{
    private readonly ConcurrentQueue<Activity> _ended = new();

    public override void OnEnd(Activity data) => _ended.Enqueue(data);

    /// <summary>The ended spans of <paramref name="traceId"/>.</summary>
    public IReadOnlyList<Activity> Trace(ActivityTraceId traceId) => _ended.Where(span => span.TraceId == traceId).ToList();
}

/// <summary>A consumer that fails the first time it sees each message (a consume failure for the metrics to count).</summary>
public sealed class FailsOnceConsumer : IConsumer<QuestionJobEnded>
{
    private static readonly ConcurrentDictionary<Guid, bool> Seen = new();

    public Task Consume(ConsumeContext<QuestionJobEnded> context) =>
        Seen.TryAdd(context.MessageId ?? Guid.Empty, true)
            ? throw new InvalidOperationException("the first attempt at each message fails (a test double)")
            : Task.CompletedTask;
}
