using VqaPipeline.Ml.Pipelines;
using System.Text.Json;
using VqaPipeline.Ml.Data.Synthetic;
using VqaPipeline.Ml.Tests.Models;

namespace VqaPipeline.Ml.Tests.Cli;

/// <summary><c>vqa eval</c>: predictions for every question, the official results file, and the score `vqa score` gives.</summary>
public sealed class CliEvalTests : IDisposable
{
    private readonly CliRunner cli = new();
    private readonly DirectoryInfo temp = Directory.CreateTempSubdirectory("vqa-eval-");

    public void Dispose()
    {
        cli.Dispose();
        temp.Delete(recursive: true);
    }

    [Fact]
    public async Task The_sample_gets_one_result_per_question_with_the_top_answer()
    {
        var sample = Fixtures.PathOf("vqa-v2-sample");
        var results = Path.Combine(temp.FullName, "results.json");

        var run = await cli.RunAsync("eval", "--model", ViltFixture.ModelFolder, "--data", sample, "--output", results, "--json");

        run.AssertSucceeded();
        var questionIds = JsonDocument.Parse(File.ReadAllText(Path.Combine(sample, "questions.json"))).RootElement
            .GetProperty("questions").EnumerateArray().Select(q => q.GetProperty("question_id").GetInt64()).ToArray();
        var written = JsonDocument.Parse(File.ReadAllText(results)).RootElement.EnumerateArray().ToArray();
        Assert.Equal(questionIds, written.Select(r => r.GetProperty("question_id").GetInt64()));

        using var pipeline = VqaEngine.FromPretrained(ViltFixture.ModelFolder);
        var first = JsonDocument.Parse(File.ReadAllText(Path.Combine(sample, "questions.json"))).RootElement.GetProperty("questions")[0];
        // COCO file names end in the image id, zero-padded to 12 digits.
        var imageFile = Directory.GetFiles(Path.Combine(sample, "images"), $"*{first.GetProperty("image_id").GetInt64():D12}.jpg").Single();
        var image = new Ml.Imaging.ImageLoader().LoadFile(imageFile);
        var question = first.GetProperty("question").GetString()!;
        Assert.Equal(pipeline.Ask(image, question, topK: 1).Answers[0].Answer, written[0].GetProperty("answer").GetString());

        var summary = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(questionIds.Length, summary.GetProperty("answered").GetInt32());
        Assert.True(summary.TryGetProperty("overall", out _));
    }

    [Fact]
    public async Task On_synthetic_scenes_the_score_equals_vqa_score_on_the_written_files()
    {
        var scenes = Path.Combine(temp.FullName, "scenes");
        new SyntheticSceneGenerator(new SyntheticOptions { Images = 6, Seed = 11, ImageSize = 192 }).Generate(scenes);
        var results = Path.Combine(temp.FullName, "results.json");

        var eval = await cli.RunAsync("eval", "--model", ViltFixture.ModelFolder, "--data", scenes, "--output", results,
            "--batch-size", "4", "--json");
        var score = await cli.RunAsync("score", "--questions", Path.Combine(scenes, "questions.json"),
            "--annotations", Path.Combine(scenes, "annotations.json"), "--results", results, "--json");

        eval.AssertSucceeded();
        score.AssertSucceeded();
        var fromEval = JsonDocument.Parse(eval.Stdout).RootElement;
        var fromScore = JsonDocument.Parse(score.Stdout).RootElement;
        Assert.Equal(fromScore.GetProperty("overall").GetDouble(), fromEval.GetProperty("overall").GetDouble());
        Assert.Equal(fromScore.GetProperty("perQuestionType").ToString(), fromEval.GetProperty("perQuestionType").ToString());
        Assert.Equal("official", fromEval.GetProperty("metric").GetString());
    }

    [Theory]
    [InlineData("official", "Metric: official (GT-Vision-Lab/VQA vqaEval.py at a013f00, 2021, as Python 2.7 runs it)")]
    [InlineData("official-2017", "Metric: official-2017 (GT-Vision-Lab/VQA vqaEval.py at a4f1afd, 2017, as its Python 3 port runs it)")]
    public async Task The_report_says_which_metric_made_its_numbers(string metric, string line)
    {
        var scenes = Path.Combine(temp.FullName, "scenes");
        new SyntheticSceneGenerator(new SyntheticOptions { Images = 2, Seed = 3, ImageSize = 192 }).Generate(scenes);

        var run = await cli.RunAsync("eval", "--model", ViltFixture.ModelFolder, "--data", scenes,
            "--output", Path.Combine(temp.FullName, "results.json"), "--metric", metric);

        run.AssertSucceeded();
        var lines = run.Stdout.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Equal(line, lines[0]);
        Assert.StartsWith("Overall Accuracy is: ", lines[1]);
    }

    [Fact]
    public async Task A_missing_image_fails_naming_the_question_or_is_skipped_on_request()
    {
        var scenes = Path.Combine(temp.FullName, "scenes");
        new SyntheticSceneGenerator(new SyntheticOptions { Images = 3, Seed = 5, ImageSize = 192 }).Generate(scenes);
        var removed = Directory.GetFiles(Path.Combine(scenes, "images")).Order().First();
        File.Delete(removed);
        var results = Path.Combine(temp.FullName, "results.json");

        var failing = await cli.RunAsync("eval", "--model", ViltFixture.ModelFolder, "--data", scenes, "--output", results);
        failing.AssertInputError(Path.GetFileName(removed));
        Assert.False(File.Exists(results));

        var skipping = await cli.RunAsync("eval", "--model", ViltFixture.ModelFolder, "--data", scenes, "--output", results,
            "--on-bad-example", "skip", "--json");
        skipping.AssertSucceeded();
        Assert.Contains("skipped", skipping.Stderr);
        var answered = JsonDocument.Parse(skipping.Stdout).RootElement.GetProperty("answered").GetInt32();
        var total = JsonDocument.Parse(File.ReadAllText(Path.Combine(scenes, "questions.json"))).RootElement
            .GetProperty("questions").GetArrayLength();
        Assert.InRange(answered, 1, total - 1);
    }

    [Fact]
    public async Task A_folder_that_is_not_a_dataset_is_one_line_error() =>
        (await cli.RunAsync("eval", "--model", ViltFixture.ModelFolder, "--data", temp.FullName))
        .AssertInputError($"No VQA dataset found in '{temp.FullName}'");
}
