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
                Id = runId, ModelName = "silent", Request = JsonSerializer.Serialize(request, JsonSerializerOptions.Web),
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
}
