using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Training.Data;
using VqaPipeline.Training.Tests.Support;

namespace VqaPipeline.Training.Tests;

/// <summary>Two training workers as real processes, one frozen past the heartbeat timeout while the other takes its run.</summary>
public sealed class FencingTests(TrainingStackWithoutWorker stack) : IClassFixture<TrainingStackWithoutWorker>
{
    private const int Steps = 30;

    [StackFact]
    public async Task Two_workers_racing_for_one_run_after_a_heartbeat_timeout_store_exactly_one_model_version_and_one_ModelTrained()
    {
        var collectionId = await stack.NewLabelledCollectionAsync(2);
        var runId = await stack.StartRunAsync(new
        {
            modelName = "fenced", dataset = new { collectionId }, baseModel = Fixtures.PathOf("vilt-tiny"), maxSteps = Steps, batchSize = 2, saveEvery = 4,
        });

        await using var first = await stack.StartWorkerProcessAsync();
        await Poll.UntilAsync(async () =>
        {
            await using var db = stack.NewContext();
            return await db.TrainingRuns.Where(r => r.Id == runId).Select(r => r.Step).SingleAsync();
        }, step => step >= 2, TrainingStack.Patience, step => $"the first worker trained to step {step} only");
        // Frozen, the first worker stops heartbeating but keeps its run in memory: it wakes up believing it still has it.
        Signal(first.Id, "STOP");
        try
        {
            await using var second = await stack.StartWorkerProcessAsync();
            await Poll.UntilAsync(async () =>
            {
                await using var db = stack.NewContext();
                return await db.TrainingRuns.Where(r => r.Id == runId).Select(r => r.Attempts).SingleAsync();
            }, attempts => attempts == 2, TrainingStack.Patience, attempts => $"the second worker did not take the run over ({attempts} attempts)");
            Signal(first.Id, "CONT");

            var run = await stack.WaitForRunAsync(runId);
            Assert.Equal("completed", run.GetProperty("status").GetString());
            Assert.Equal(Steps, run.GetProperty("step").GetInt32());
            await Poll.UntilAsync(() => Task.FromResult(first.Output), output => output.Contains("is no longer this worker's"),
                TrainingStack.Patience, output => $"the first worker did not notice it lost its run:\n{output}");
        }
        finally
        {
            Signal(first.Id, "CONT");
        }

        await using var database = stack.NewContext();
        var version = Assert.Single(await database.ModelVersions.Where(m => m.Name == "fenced").ToListAsync());
        Assert.Equal((runId, 1), (version.TrainingRunId, version.Version));
        Assert.Single(await database.EventLog.Where(e => e.MessageType == nameof(ModelTrained)).ToListAsync(), e => e.Body.Contains(runId.ToString()));
        Assert.Equal(TrainingRunStatus.Completed, (await database.TrainingRuns.SingleAsync(r => r.Id == runId)).Status);
    }

    private static void Signal(int processId, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {processId}");
        kill.WaitForExit();
    }
}
