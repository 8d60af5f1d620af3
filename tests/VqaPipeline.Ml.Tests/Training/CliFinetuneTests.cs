using System.Diagnostics;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Data.Synthetic;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Cli;
using VqaPipeline.Ml.Tests.Hub;
using VqaPipeline.Ml.Tests.Models;
using VqaPipeline.Ml.Training;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Ml.Tests.Training;

/// <summary><c>vqa finetune</c>: a model folder <c>vqa ask</c> loads, exact resume after SIGKILL, one-line errors.</summary>
public sealed class CliFinetuneTests : IDisposable
{
    private readonly CliRunner cli = new();
    private readonly TemporaryFolder temp = new();
    private readonly string scenes;

    public CliFinetuneTests()
    {
        scenes = temp.File("scenes");
        new SyntheticSceneGenerator(new SyntheticOptions { Images = 3, QuestionsPerImage = 2, Seed = 4, ImageSize = 96 }).Generate(scenes);
    }

    public void Dispose()
    {
        cli.Dispose();
        temp.Dispose();
    }

    [Fact]
    public async Task From_a_backbone_it_reports_the_new_head_and_writes_a_model_that_vqa_ask_loads()
    {
        var output = temp.File("out");
        var run = await cli.RunAsync("finetune", "--data", scenes, "--out", output, "--model", ViltFixture.ModelFolder, "--max-steps", "3",
            "--log-every", "1");

        run.AssertSucceeded();
        Assert.Contains("newly initialized", run.Stderr);
        Assert.Contains("step 3/3", run.Stderr);
        Assert.Contains("examples/s", run.Stderr);
        var image = Directory.GetFiles(scenes, "*.jpg", SearchOption.AllDirectories)[0];
        var ask = await cli.RunAsync("ask", image, "What color is the circle?", "--model", output, "--json");
        ask.AssertSucceeded();
        var labels = ModelConfig.Load<ViltConfig>(output).Id2Label.Values;
        var answers = System.Text.Json.JsonDocument.Parse(ask.Stdout).RootElement.EnumerateArray().Select(a => a.GetProperty("answer").GetString());
        Assert.All(answers, answer => Assert.Contains(answer, labels));
    }

    [Fact]
    public async Task Training_killed_with_sigkill_resumes_to_the_weights_of_an_uninterrupted_run()
    {
        string[] Args(string output) =>
        [
            "finetune", "--data", scenes, "--out", output, "--model", ViltFixture.ModelFolder, "--max-steps", "24", "--batch-size", "2",
            "--save-every", "2", "--keep-last", "2", "--seed", "7", "--lr", "1e-3", "--warmup-steps", "3",
        ];
        var killed = temp.File("killed");
        var checkpointAtKill = await RunUntilFirstCheckpointThenKillAsync(Args(killed));

        var resumed = await cli.RunAsync([.. Args(killed), "--resume"]);
        var whole = await cli.RunAsync(Args(temp.File("whole")));

        resumed.AssertSucceeded();
        whole.AssertSucceeded();
        var resumedFrom = int.Parse(System.Text.RegularExpressions.Regex.Match(resumed.Stderr, @"resuming from step (\d+)").Groups[1].Value);
        // Only the steps after the newest checkpoint are redone: at least the one seen at the kill has survived it.
        Assert.True(resumedFrom >= checkpointAtKill, $"resumed from step {resumedFrom}, though step {checkpointAtKill} was saved before the kill");
        FineTuningAssert.SameWeights(temp.File("whole"), killed, 1e-6);
    }

    [Fact]
    public async Task Missing_data_is_a_one_line_error()
    {
        var run = await cli.RunAsync("finetune", "--data", temp.File("absent"), "--out", temp.File("out"), "--model", ViltFixture.ModelFolder);
        run.AssertInputError("does not exist");
    }

    [Fact]
    public async Task An_empty_vocabulary_is_a_one_line_error()
    {
        var run = await cli.RunAsync("finetune", "--data", scenes, "--out", temp.File("out"), "--model", ViltFixture.ModelFolder,
            "--min-answer-count", "1000");
        run.AssertInputError("vocabulary is empty");
    }

    [Fact]
    public async Task A_position_scale_without_sine_cosine_positions_is_a_one_line_error()
    {
        var run = await cli.RunAsync("finetune", "--data", scenes, "--out", temp.File("out"), "--model", ViltFixture.ModelFolder,
            "--image-position-scale", "4");
        run.AssertInputError("needs --image-positions sincos");
    }

    [Fact]
    public async Task Resume_without_a_checkpoint_is_a_one_line_error()
    {
        var run = await cli.RunAsync("finetune", "--data", scenes, "--out", temp.File("out"), "--model", ViltFixture.ModelFolder, "--resume");
        run.AssertInputError("holds no checkpoint");
    }

    /// <summary>Starts <c>dotnet vqa.dll</c>, SIGKILLs it once a checkpoint is in place, and returns that checkpoint's step.</summary>
    private static async Task<int> RunUntilFirstCheckpointThenKillAsync(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vqa.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["HF_ENDPOINT"] = FakeHub.UnreachableEndpoint();
        start.Environment["HF_HUB_OFFLINE"] = "1";
        var output = args[Array.IndexOf(args, "--out") + 1];

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (TrainingCheckpoints.List(output).Count == 0)
        {
            if (process.HasExited) Assert.Fail($"training ended before a checkpoint was seen: {await stderr}");
            Assert.True(DateTime.UtcNow < deadline, "no checkpoint within two minutes");
            await Task.Delay(5);
        }
        process.Kill(); // SIGKILL on Unix
        await process.WaitForExitAsync();
        Assert.False(File.Exists(Path.Combine(output, ViltCheckpointWriter.WeightsFileName)), "the run finished before it was killed");
        return TrainingCheckpoints.List(output)[0].Step;
    }
}
