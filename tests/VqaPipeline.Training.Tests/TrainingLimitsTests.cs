using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Training.Data;
using VqaPipeline.Training.Tests.Support;

namespace VqaPipeline.Training.Tests;

/// <summary>The limits that keep one training run from blocking the others: attempts, memory, sizes, cancelling, fencing.</summary>
public sealed class TrainingLimitsTests(TrainingStack stack) : IClassFixture<TrainingStack>
{
    private static readonly string BaseModel = Fixtures.PathOf("vilt-tiny");

    [StackFact]
    public async Task A_run_over_its_memory_bound_fails_after_its_attempts_with_the_reason_and_the_next_run_proceeds()
    {
        var collectionId = await stack.NewLabelledCollectionAsync(2);
        // One megabyte is far below what any run needs: the process that trains it holds a runtime and a model.
        var bounded = await stack.StartRunAsync(new { modelName = "bounded", dataset = new { collectionId }, baseModel = BaseModel, maxSteps = 2, batchSize = 2, maxMemoryMb = 1 });
        var next = await stack.StartRunAsync(new { modelName = "after-bounded", dataset = new { collectionId }, baseModel = BaseModel, maxSteps = 2, batchSize = 2 });

        var failed = await stack.WaitForRunAsync(bounded);
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        var error = failed.GetProperty("error").GetString()!;
        Assert.StartsWith("gave up after 3 attempts: the worker's resident memory reached ", error);
        Assert.EndsWith(" MB, over the run's memory bound of 1 MB", error);
        Assert.Equal(3, failed.GetProperty("attempts").GetInt32());

        var completed = await stack.WaitForRunAsync(next);
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.Equal(1, completed.GetProperty("attempts").GetInt32());

        await using var db = stack.NewContext();
        Assert.Single(await db.EventLog.Where(e => e.MessageType == nameof(TrainingFailed)).ToListAsync(), e => e.Body.Contains(bounded.ToString()));
        Assert.False(await db.ModelVersions.AnyAsync(m => m.TrainingRunId == bounded));
        Assert.True(await db.ModelVersions.AnyAsync(m => m.TrainingRunId == next));
    }

    [StackFact]
    public async Task A_run_whose_worker_went_silent_on_its_last_attempt_fails_with_the_reason()
    {
        var runId = Guid.NewGuid();
        var longAgo = DateTimeOffset.UtcNow.AddHours(-1);
        await using (var db = stack.NewContext())
        {
            // As a worker killed for memory on the third attempt leaves its run: running, silent, out of attempts.
            var request = new TrainingRequested(runId, "silent", new TrainingDataset(null, "datasets/silent"),
                new TrainingStart(BaseModel, null, null), new TrainingSettings(1, 2, 2, 1, 5e-5, 0.01, 0, 0, "float32", 100), longAgo);
            db.TrainingRuns.Add(new TrainingRun
            {
                Id = runId, TeamId = stack.Stack.TeamId, ModelName = "silent", Request = JsonSerializer.Serialize(request, JsonSerializerOptions.Web),
                DatasetPrefix = "datasets/silent", Status = TrainingRunStatus.Running, Attempts = 3, Worker = "gone:1",
                HeartbeatAt = longAgo, CreatedAt = longAgo, UpdatedAt = longAgo,
            });
            await db.SaveChangesAsync();
        }

        var run = await stack.WaitForRunAsync(runId);

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Equal("gave up after 3 attempts: the worker stopped heartbeating", run.GetProperty("error").GetString());
        Assert.Equal(3, run.GetProperty("attempts").GetInt32());
        await using var database = stack.NewContext();
        var failure = Assert.Single(await database.EventLog.Where(e => e.MessageType == nameof(TrainingFailed)).ToListAsync(),
            e => e.Body.Contains(runId.ToString()));
        Assert.Contains("the worker stopped heartbeating", failure.Body);
    }

    [StackFact]
    public async Task Sizes_over_the_limits_are_refused_with_a_reason_each()
    {
        var collectionId = await stack.NewLabelledCollectionAsync(2);
        object Run(object settings) => Merge(new { modelName = "too-big", dataset = new { collectionId }, baseModel = BaseModel }, settings);
        object FromConfig(object config) =>
            new { modelName = "too-big", dataset = new { collectionId }, fromConfig = config, tokenizer = BaseModel, maxSteps = 1 };
        var cases = new (object Body, string Reason)[]
        {
            (Run(new { epochs = 0 }), "'epochs' must be 1 to 1000"),
            (Run(new { epochs = 1_001 }), "'epochs' must be 1 to 1000"),
            (Run(new { maxSteps = 1_000_001 }), "'maxSteps' must be 1 to 1000000"),
            (Run(new { batchSize = 513 }), "'batchSize' must be 1 to 512"),
            (Run(new { gradientAccumulation = 1_025 }), "'gradientAccumulation' must be 1 to 1024"),
            (Run(new { warmupSteps = 1_000_001 }), "'warmupSteps' must be 0 to 1000000"),
            (Run(new { saveEvery = 0 }), "'saveEvery' must be 1 to 1000000"),
            (Run(new { maxMemoryMb = 0 }), "'maxMemoryMb' must be at least 1"),
            (Run(new { epochs = 501 }),
                $"'epochs' × the collection's 2 labels is 1002 examples, over the limit of {TrainingStack.MaxTrainingExamples}"),
            (Run(new { maxSteps = 100, batchSize = 5, gradientAccumulation = 3 }),
                $"'maxSteps' × 'batchSize' × 'gradientAccumulation' is 1500 examples, over the limit of {TrainingStack.MaxTrainingExamples}"),
            (FromConfig(new { hidden_size = 100_000 }), "'fromConfig.hidden_size' must be 1 to 8192"),
            (FromConfig(new { num_hidden_layers = 0 }), "'fromConfig.num_hidden_layers' must be 1 to 96"),
            (FromConfig(new { image_size = 384, patch_size = 500 }), "'fromConfig.patch_size' must be 1 to 384"),
            (FromConfig(new { hidden_size = 30, num_attention_heads = 4 }), "'fromConfig.hidden_size' must be a multiple of 'num_attention_heads'"),
            (FromConfig(new { hidden_size = 8_192, num_attention_heads = 64, num_hidden_layers = 96, intermediate_size = 32_768 }),
                "'fromConfig' describes a model of about"),
            (FromConfig(new { hidden_size = "wide" }), "'fromConfig' is not a ViLT configuration"),
            (FromConfig(new { padding = new string('x', 70_000) }), "'fromConfig' is "),
        };
        foreach (var (body, reason) in cases)
        {
            using var response = await stack.Api.PostAsJsonAsync("/training-runs", body);
            var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest && error!.StartsWith(reason, StringComparison.Ordinal),
                $"{JsonSerializer.Serialize(body)[..Math.Min(200, JsonSerializer.Serialize(body).Length)]}: {(int)response.StatusCode} {error}");
        }
        await using var db = stack.NewContext();
        Assert.False(await db.TrainingRuns.AnyAsync(r => r.ModelName == "too-big"));
    }

    [StackFact]
    public async Task A_cancelled_run_ends_cancelled_at_once_if_queued_and_at_its_next_step_if_running_and_stores_no_model()
    {
        var collectionId = await stack.NewLabelledCollectionAsync(2);
        const int longRun = TrainingStack.MaxTrainingExamples / 2;
        var running = await stack.StartRunAsync(new { modelName = "cancelled-running", dataset = new { collectionId }, baseModel = BaseModel, maxSteps = longRun, batchSize = 2 });
        await Poll.UntilAsync(() => stack.Api.GetFromJsonAsync<JsonElement>($"/training-runs/{running}"),
            run => run.GetProperty("step").GetInt32() >= 1, TrainingStack.Patience, run => $"the run never started: {run}");
        var queued = await stack.StartRunAsync(new { modelName = "cancelled-queued", dataset = new { collectionId }, baseModel = BaseModel, maxSteps = 2, batchSize = 2 });

        using (var cancelQueued = await stack.Api.PostAsync($"/training-runs/{queued}/cancel", null))
        {
            Assert.Equal(HttpStatusCode.OK, cancelQueued.StatusCode);
            Assert.Equal("cancelled", (await cancelQueued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        }
        using (var cancelRunning = await stack.Api.PostAsync($"/training-runs/{running}/cancel", null))
        {
            Assert.Equal(HttpStatusCode.OK, cancelRunning.StatusCode);
            Assert.Equal("cancelled", (await cancelRunning.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        }

        // The only worker is free again only once it stopped training the cancelled run: a run after it completes.
        var after = await stack.StartRunAsync(new { modelName = "after-cancel", dataset = new { collectionId }, baseModel = BaseModel, maxSteps = 2, batchSize = 2 });
        Assert.Equal("completed", (await stack.WaitForRunAsync(after)).GetProperty("status").GetString());
        var cancelled = await stack.Api.GetFromJsonAsync<JsonElement>($"/training-runs/{running}");
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.True(cancelled.GetProperty("step").GetInt32() < longRun, $"the cancelled run trained to its end: {cancelled}");
        Assert.Equal("cancelled", (await stack.Api.GetFromJsonAsync<JsonElement>($"/training-runs/{queued}")).GetProperty("status").GetString());
        await using (var db = stack.NewContext())
        {
            Assert.False(await db.ModelVersions.AnyAsync(m => m.TrainingRunId == running || m.TrainingRunId == queued));
            Assert.DoesNotContain(await db.EventLog.Where(e => e.MessageType == nameof(ModelTrained)).ToListAsync(),
                e => e.Body.Contains(running.ToString()) || e.Body.Contains(queued.ToString()));
        }

        using var again = await stack.Api.PostAsync($"/training-runs/{running}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal($"training run {running} has ended (cancelled); only a queued or running run can be cancelled",
            (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        using var completedRun = await stack.Api.PostAsync($"/training-runs/{after}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, completedRun.StatusCode);
        using var unknown = await stack.Api.PostAsync($"/training-runs/{Guid.NewGuid()}/cancel", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    /// <summary><paramref name="body"/> with <paramref name="settings"/>' properties added, as one JSON object.</summary>
    private static JsonElement Merge(object body, object settings)
    {
        var merged = JsonSerializer.SerializeToNode(body, JsonSerializerOptions.Web)!.AsObject();
        foreach (var (name, value) in JsonSerializer.SerializeToNode(settings, JsonSerializerOptions.Web)!.AsObject().ToList())
            merged[name] = value?.DeepClone();
        return JsonSerializer.SerializeToElement(merged);
    }
}
