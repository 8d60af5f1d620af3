using Microsoft.EntityFrameworkCore;
using VqaPipeline.Training.Data;
using VqaPipeline.Training.Tests.Support;

namespace VqaPipeline.Training.Tests;

/// <summary>The trained model's upload through a relay that cuts uploads, as an object store restarting would.</summary>
public sealed class UploadRetryTests(TrainingStackWithFaultyStorage stack) : IClassFixture<TrainingStackWithFaultyStorage>
{
    [StackFact]
    public async Task An_upload_that_fails_is_retried_within_the_attempt_and_the_model_is_stored_once()
    {
        var collectionId = await stack.NewLabelledCollectionAsync(2);
        // Only the training service's object store goes through the relay, and it uploads only the trained model.
        stack.Proxy.CutNextUploads(2);
        var runId = await stack.StartRunAsync(new { modelName = "retried-upload", dataset = new { collectionId }, baseModel = Fixtures.PathOf("vilt-tiny"), maxSteps = 2, batchSize = 2 });

        var run = await stack.WaitForRunAsync(runId);

        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal(2, stack.Proxy.Cut);
        // The upload was tried again within the attempt, not by training the run again.
        Assert.Equal(1, run.GetProperty("attempts").GetInt32());
        var prefix = $"models/{stack.Stack.TeamId:D}/retried-upload/1";
        var keys = (await stack.Store.ListAsync($"{prefix}/")).Select(o => o.Key).ToList();
        Assert.Contains($"{prefix}/config.json", keys);
        Assert.Contains($"{prefix}/model.safetensors", keys);
        await using var db = stack.NewContext();
        Assert.Single(await db.ModelVersions.Where(m => m.TrainingRunId == runId).ToListAsync());
    }

    [StackFact]
    public async Task The_heartbeat_goes_on_while_the_model_uploads()
    {
        var collectionId = await stack.NewLabelledCollectionAsync(2);
        var heartbeatTimeout = TrainingStackWithFaultyStorage.HeartbeatTimeout;
        var hold = heartbeatTimeout * 2.5;
        stack.Proxy.HoldNextUpload(hold);
        var runId = await stack.StartRunAsync(new { modelName = "slow-upload", dataset = new { collectionId }, baseModel = Fixtures.PathOf("vilt-tiny"), maxSteps = 2, batchSize = 2 });

        await Poll.UntilAsync(() => Task.FromResult(stack.Proxy.Holding), holding => holding, TrainingStack.Patience, _ => "no upload was held");
        var heldSince = DateTimeOffset.UtcNow;
        // Sampled while the upload is held: once it has been held longer than the heartbeat timeout, a worker that
        // stopped heartbeating at the end of training would look dead.
        var lateSamples = new List<TimeSpan>();
        while (stack.Proxy.Holding)
        {
            await using var db = stack.NewContext();
            var run = await db.TrainingRuns.AsNoTracking().SingleAsync(r => r.Id == runId);
            var now = DateTimeOffset.UtcNow;
            if (stack.Proxy.Holding && now - heldSince > heartbeatTimeout)
            {
                Assert.Equal(TrainingRunStatus.Running, run.Status);
                lateSamples.Add(now - run.HeartbeatAt!.Value);
            }
            await Task.Delay(100);
        }
        Assert.NotEmpty(lateSamples);
        Assert.All(lateSamples, silence => Assert.True(silence < heartbeatTimeout, $"the last heartbeat was {silence} ago, during the upload"));

        var ended = await stack.WaitForRunAsync(runId);
        Assert.Equal("completed", ended.GetProperty("status").GetString());
        Assert.Equal(1, ended.GetProperty("attempts").GetInt32());
    }
}
