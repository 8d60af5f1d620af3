using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Data;
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

        var first = await WorkerProcess.StartAsync(stack);
        int killedAt;
        try
        {
            killedAt = await WaitUntilAsync(async () =>
            {
                await using var db = stack.NewContext();
                var step = await db.TrainingRuns.Where(r => r.Id == runId).Select(r => r.Step).SingleAsync();
                return step >= 2 * SaveEvery && TrainingCheckpoints.List(checkpoints).Count > 0 ? step : (int?)null;
            });
        }
        finally
        {
            first.Kill();
        }
        Assert.True(killedAt < Steps, $"the run ended (step {killedAt}) before the worker was killed");

        var second = await WorkerProcess.StartAsync(stack);
        try
        {
            var run = await stack.WaitForRunAsync(runId);
            Assert.Equal("completed", run.GetProperty("status").GetString());
            Assert.Equal(Steps, run.GetProperty("step").GetInt32());
            var resumedFrom = second.ResumedFromStep();
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
        Assert.Single(await database.EventLog.Where(e => e.MessageType == "ModelTrained" && e.CollectionId == collectionId).ToListAsync());
    }

    private static async Task<int> WaitUntilAsync(Func<Task<int?>> probe)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TrainingStack.Patience)
        {
            if (await probe() is { } value)
                return value;
            await Task.Delay(100);
        }
        throw new TimeoutException($"the training run made no checkpoint within {TrainingStack.Patience}");
    }

    /// <summary>The built training service, run as its own process with this stack's settings.</summary>
    private sealed class WorkerProcess
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private WorkerProcess(Process process) => _process = process;

        public string Output
        {
            get { lock (_output) return _output.ToString(); }
        }

        public static Task<WorkerProcess> StartAsync(TrainingStack stack)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(typeof(TrainingService).Assembly.Location);
            start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
            foreach (var (key, value) in stack.TrainingSettings())
                start.Environment[key.Replace(":", "__")] = value;
            var worker = new WorkerProcess(Process.Start(start)!);
            worker._process.OutputDataReceived += (_, line) => worker.Append(line.Data);
            worker._process.ErrorDataReceived += (_, line) => worker.Append(line.Data);
            worker._process.BeginOutputReadLine();
            worker._process.BeginErrorReadLine();
            return Task.FromResult(worker);
        }

        /// <summary>The step the engine said it resumed from ("resuming from step N of …"), if it did.</summary>
        public int? ResumedFromStep()
        {
            var match = System.Text.RegularExpressions.Regex.Match(Output, @"resuming from step (\d+) of");
            return match.Success ? int.Parse(match.Groups[1].Value) : null;
        }

        public void Kill()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        private void Append(string? line)
        {
            if (line is null) return;
            lock (_output) _output.AppendLine(line);
        }
    }
}
