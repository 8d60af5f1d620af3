using System.Text.Json;
using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Data.Labels;
using VqaPipeline.Ml.Tests.Cli;

namespace VqaPipeline.Ml.Tests.Data;

/// <summary><c>vqa data inspect</c> and <c>vqa data vocab</c>, in-process.</summary>
public sealed class CliDataTests : IDisposable
{
    private readonly CliRunner _cli = new();
    private readonly DatasetFolder _folder = new();

    public void Dispose()
    {
        _cli.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task Inspect_reports_the_sample_as_json()
    {
        var run = await _cli.RunAsync("data", "inspect", "--data", DatasetFolder.SamplePath(), "--json");

        run.AssertSucceeded();
        var expected = VqaDataset.Open(DatasetFolder.SamplePath()).Read().ToList();
        var report = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal("OfficialJson", report.GetProperty("layout").GetString());
        Assert.Equal(expected.Count, report.GetProperty("examples").GetInt32());
        Assert.Equal(expected.Count, report.GetProperty("imagesDecoded").GetInt32());
        Assert.Equal(expected.Sum(e => e.Answers.Count), report.GetProperty("humanAnswers").GetInt32());
        Assert.Equal(0, report.GetProperty("skipped").GetInt32());
        Assert.Equal("", run.Stderr);
    }

    [Fact]
    public async Task Inspect_counts_types_in_text()
    {
        File.Copy(DatasetFolder.SamplePath("questions.json"), _folder.File("questions.json"));
        File.Copy(DatasetFolder.SamplePath("annotations_evalready_DERIVED.json"), _folder.File("annotations.json"));
        _folder.CopySampleImages();
        var examples = _folder.Open().Read().ToList();

        var run = await _cli.RunAsync("data", "inspect", "--data", _folder.Path);

        run.AssertSucceeded();
        Assert.Contains("layout          OfficialJson", run.Stdout);
        Assert.Contains($"examples        {examples.Count} ", run.Stdout);
        foreach (var type in examples.GroupBy(e => e.AnswerType))
            Assert.Contains($"{type.Key} {type.Count()}", run.Stdout);
        foreach (var type in examples.GroupBy(e => e.QuestionType))
            Assert.Contains($"{type.Key} {type.Count()}", run.Stdout);
    }

    [Fact]
    public async Task Inspect_with_a_missing_image_fails_naming_it_or_skips_it()
    {
        File.Copy(DatasetFolder.SamplePath("questions.json"), _folder.File("questions.json"));
        var first = VqaDataset.Open(DatasetFolder.SamplePath()).Read().First();

        var failed = await _cli.RunAsync("data", "inspect", "--data", _folder.Path);
        failed.AssertInputError($"question {first.QuestionId}: image '{_folder.File("images", Path.GetFileName(first.Image.Path!))}' file not found");

        var skipped = await _cli.RunAsync("data", "inspect", "--data", _folder.Path, "--on-bad-example", "skip", "--json");
        skipped.AssertSucceeded();
        var report = JsonDocument.Parse(skipped.Stdout).RootElement;
        Assert.Equal(0, report.GetProperty("examples").GetInt32());
        Assert.True(report.GetProperty("skipped").GetInt32() > 0);
        Assert.Equal(first.QuestionId, report.GetProperty("skippedExamples")[0].GetProperty("questionId").GetInt64());
    }

    [Fact]
    public async Task Vocab_writes_a_loadable_vocabulary()
    {
        var output = _folder.File("vocab.json");

        var run = await _cli.RunAsync("data", "vocab", "--data", DatasetFolder.SamplePath(), "--min-answer-count", "2", "--out", output, "--json");

        run.AssertSucceeded();
        var examples = VqaDataset.Open(DatasetFolder.SamplePath()).Read().ToList();
        var expected = AnswerVocabulary.Build(examples, new VocabularyOptions { MinAnswerCount = 2 });
        Assert.Equal(expected.Id2Label, AnswerVocabulary.Load(output).Id2Label);
        var report = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(expected.Count, report.GetProperty("answers").GetInt32());
        Assert.Equal("normalized", report.GetProperty("labelMode").GetString());
        var labeler = new SoftScoreLabeler(expected);
        Assert.Equal(labeler.Label(examples).Count(), report.GetProperty("examplesLabeled").GetInt32());
        Assert.Equal(labeler.DroppedCount, report.GetProperty("examplesDropped").GetInt32());
    }

    [Fact]
    public async Task Vocab_in_text_names_the_top_answers()
    {
        var output = _folder.File("vocab.json");

        var run = await _cli.RunAsync("data", "vocab", "--data", DatasetFolder.SamplePath(), "--max-answers", "2", "--out", output);

        run.AssertSucceeded();
        Assert.Contains($"wrote 2 answers to {output}", run.Stdout);
        Assert.Equal(2, AnswerVocabulary.Load(output).Count);
    }

    [Fact]
    public async Task Vocab_rejects_both_limits() =>
        (await _cli.RunAsync("data", "vocab", "--data", DatasetFolder.SamplePath(), "--min-answer-count", "2",
            "--max-answers", "5", "--out", _folder.File("v.json"))).AssertInputError("either --min-answer-count or --max-answers");

    [Fact]
    public async Task Vocab_rejects_a_zero_limit() =>
        (await _cli.RunAsync("data", "vocab", "--data", DatasetFolder.SamplePath(), "--max-answers", "0",
            "--out", _folder.File("v.json"))).AssertInputError("--max-answers must be at least 1");

    [Fact]
    public async Task Vocab_without_answers_says_so()
    {
        File.Copy(DatasetFolder.SamplePath("questions.json"), _folder.File("questions.json"));
        _folder.CopySampleImages();

        (await _cli.RunAsync("data", "vocab", "--data", _folder.Path, "--out", _folder.File("v.json")))
            .AssertInputError("has no answers");
    }

    [Fact]
    public async Task An_unrecognised_folder_is_one_error_line() =>
        (await _cli.RunAsync("data", "inspect", "--data", _folder.Path)).AssertInputError("No VQA dataset found");

    [Fact]
    public async Task A_missing_data_option_is_a_usage_error()
    {
        var run = await _cli.RunAsync("data", "inspect");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("--data", Assert.Single(run.StderrLines));
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("vocab")]
    public async Task Help_shows_examples(string subcommand)
    {
        var run = await _cli.RunAsync("data", subcommand, "--help");

        run.AssertSucceeded();
        Assert.Contains($"vqa data {subcommand} --data", run.Stdout);
    }
}
