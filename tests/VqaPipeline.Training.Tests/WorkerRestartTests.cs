using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Ml.Training;
using VqaPipeline.Training.Tests.Support;

namespace VqaPipeline.Training.Tests;

/// <summary>The training worker as a real process, killed with SIGKILL in the middle of a run and started again.</summary>
public sealed class WorkerRestartTests(TrainingStackWithoutWorker stack) : IClassFixture<TrainingStackWithoutWorker>
{
    private const int Steps = 40;
    private const int SaveEvery = 4;

    [StackFact]
    public async Task A_killed_worker_is_resumed_from_its_last_checkpoint_and_the_model_is_stored_once()
    {
        var (collectionId, imageIds) = await stack.NewCollectionAsync(Fixtures.Images().Take(2));
        (await stack.Api.PostAsJsonAsync($"/collections/{collectionId}/labels", imageIds.Select((imageId, index) =>
            new { imageId, question = "Which one?", answers = new[] { $"image{index}" } }))).EnsureSuccessStatusCode();
        using var accepted = await stack.Api.PostAsJsonAsync("/training-runs", new
        {
            modelName = "restarted", dataset = new { collectionId }, baseModel = Fixtures.PathOf("vilt-tiny"),
            maxSteps = Steps, batchSize = 2, saveEvery = SaveEvery,
        });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var runId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var checkpoints = Path.Combine(stack.WorkFolder, "runs", runId.ToString("N"), "output");

        await using var first = await stack.StartWorkerProcessAsync();
        int killedAt;
        try
        {
            killedAt = (await Poll.UntilAsync(async () =>
            {
                await using var db = stack.NewContext();
                var step = await db.TrainingRuns.Where(r => r.Id == runId).Select(r => r.Step).SingleAsync();
                return step >= 2 * SaveEvery && TrainingCheckpoints.List(checkpoints).Count > 0 ? step : (int?)null;
            }, step => step is not null, TrainingStack.Patience, _ => "the training run made no checkpoint"))!.Value;
        }
        finally
        {
            first.Kill();
        }
        Assert.True(killedAt < Steps, $"the run ended (step {killedAt}) before the worker was killed");

        await using var second = await stack.StartWorkerProcessAsync();
        try
        {
            var run = await stack.WaitForRunAsync(runId);
            Assert.Equal("completed", run.GetProperty("status").GetString());
            Assert.Equal(Steps, run.GetProperty("step").GetInt32());
            var resumedFrom = ResumedFromStep(second.Output);
            Assert.True(resumedFrom is { } step && step >= SaveEvery && step <= killedAt && killedAt - step < 2 * SaveEvery,
                $"killed at step {killedAt}, resumed from {resumedFrom}:\n{second.Output}");
        }
        finally
        {
            second.Kill();
        }

        await using var database = stack.NewContext();
        var versions = await database.ModelVersions.Where(m => m.TrainingRunId == runId).ToListAsync();
        Assert.Equal(("restarted", 1), (Assert.Single(versions).Name, versions[0].Version));
        Assert.Single(await database.EventLog.Where(e => e.MessageType == "ModelTrained").ToListAsync(), e => e.Body.Contains(runId.ToString()));
    }

    /// <summary>The step the engine said it resumed from ("resuming from step N of …"), if it did.</summary>
    private static int? ResumedFromStep(string output)
    {
        var match = Regex.Match(output, @"resuming from step (\d+) of");
        return match.Success ? int.Parse(match.Groups[1].Value) : null;
    }
}
