using System.Text.Json;
using VqaPipeline.Ml.Tests.Cli;

namespace VqaPipeline.Ml.Tests.Evaluation;

/// <summary>
/// <c>vqa score</c>, run in-process, on the three real VQA v2 questions of the sample (kept with the official metric
/// cases, so that the numbers do not depend on the fixture set).
/// </summary>
public sealed class CliScoreTests : IDisposable
{
    private readonly CliRunner _cli = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("vqa-score-").FullName;
    private readonly string _questions;
    private readonly string _annotations;

    public CliScoreTests()
    {
        var annotations = OfficialMetricCases.RealSampleAnnotations;
        _questions = Write("questions.json", JsonSerializer.Serialize(new
        {
            questions = SampleIds().Select(id => new { question_id = id, image_id = id / 1000, question = "?" }),
        }));
        _annotations = Write("annotations.json", JsonSerializer.Serialize(new { annotations }));
    }

    private static long[] SampleIds() =>
        OfficialMetricCases.RealSampleAnnotations.EnumerateArray().Select(a => a.GetProperty("question_id").GetInt64()).ToArray();

    private static IEnumerable<string> QuestionTypes() =>
        OfficialMetricCases.RealSampleAnnotations.EnumerateArray().Select(a => a.GetProperty("question_type").GetString()!);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private string Results(params string[] answers) => Write("results.json",
        JsonSerializer.Serialize(SampleIds().Zip(answers, (id, answer) => new { question_id = id, answer })));

    private Task<CliRun> Score(string results, params string[] extra) =>
        _cli.RunAsync(["score", "--questions", _questions, "--annotations", _annotations, "--results", results, .. extra]);

    [Theory]
    // Ten humans said "orange": today's official code compares "The orange" as given, the 2017 one normalized it.
    [InlineData(new string[0], "official", 43.33, new[] { 30.0, 100.0, 0.0 })]
    [InlineData(new[] { "--metric", "official" }, "official", 43.33, new[] { 30.0, 100.0, 0.0 })]
    [InlineData(new[] { "--metric", "official-2017" }, "official-2017", 76.67, new[] { 30.0, 100.0, 100.0 })]
    public async Task Json_is_the_only_stdout_and_has_the_numbers_of_the_chosen_official_version(
        string[] metricFlags, string metric, double overall, double[] perQuestionType)
    {
        var run = await Score(Results("pitcher", "Pitcher.", "The orange"), ["--json", .. metricFlags]);
        run.AssertSucceeded();
        var root = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(["metric", "overall", "perAnswerType", "perQuestionType"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(metric, root.GetProperty("metric").GetString());
        Assert.Equal(overall, root.GetProperty("overall").GetDouble());
        Assert.Equal(overall, root.GetProperty("perAnswerType").GetProperty("other").GetDouble());
        Assert.Equal(perQuestionType, QuestionTypes().Select(type => root.GetProperty("perQuestionType").GetProperty(type).GetDouble()));
    }

    [Fact]
    public async Task Help_says_which_metric_is_which_version_of_the_official_code()
    {
        var run = await _cli.RunAsync("score", "--help");
        run.AssertSucceeded();
        Assert.Contains("official       GT-Vision-Lab/VQA's vqaEval.py as it is today (commit a013f00", run.Stdout);
        Assert.Contains("official-2017  the same file as of 2017 (commit a4f1afd)", run.Stdout);
    }

    [Fact]
    public async Task Human_output_follows_the_official_demo_and_names_the_metric_on_stderr()
    {
        var run = await Score(Results("netting", "catcher", "blue"));
        run.AssertSucceeded();
        Assert.Contains("metric: official (GT-Vision-Lab/VQA vqaEval.py at a013f00, 2021, as Python 2.7 runs it)", run.Stderr);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Overall Accuracy is: 20.00", lines[0]);
        Assert.Equal("Per Question Type Accuracy is the following:", lines[1]);
        Assert.Contains("what is this : 30.00", lines);
        Assert.Contains("what color is the : 0.00", lines);
        Assert.Equal("Per Answer Type Accuracy is the following:", lines[^2]);
        Assert.Equal("other : 20.00", lines[^1]);
    }

    [Fact]
    public async Task Normalized_metric_is_selectable()
    {
        // lmms-eval's treatment drops the '?' and normalizes; all ten humans said "orange", compared unprocessed.
        var run = await Score(Results("net", "pitcher", "orange?"), "--json", "--metric", "normalized");
        run.AssertSucceeded();
        Assert.Equal(100.0, JsonDocument.Parse(run.Stdout).RootElement.GetProperty("overall").GetDouble());
    }

    [Fact]
    public async Task Trimmed_annotations_warn_and_score_under_unknown()
    {
        // As allennlp trims them: no question_type or answer_type.
        var trimmed = Write("trimmed.json", JsonSerializer.Serialize(new
        {
            annotations = OfficialMetricCases.RealSampleAnnotations.EnumerateArray().Select(a => new
            {
                question_id = a.GetProperty("question_id").GetInt64(),
                answers = a.GetProperty("answers"),
            }),
        }));
        var run = await _cli.RunAsync("score", "--questions", _questions, "--annotations", trimmed,
            "--results", Results("net", "pitcher", "orange"), "--json");
        run.AssertSucceeded();
        Assert.Contains("warning: 3 annotations have no question_type or answer_type", run.Stderr);
        var root = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(100.0, root.GetProperty("perQuestionType").GetProperty("unknown").GetDouble());
    }

    [Fact]
    public async Task Results_missing_a_question_are_one_line_error() =>
        (await Score(Results("net", "pitcher"))).AssertInputError("1 of 3 annotated questions have no result");

    [Fact]
    public async Task Result_for_an_unknown_question_is_one_line_error()
    {
        var ids = SampleIds();
        var results = Write("extra.json", JsonSerializer.Serialize(
            ids.Select(id => new { question_id = id, answer = "net" }).Append(new { question_id = 7L, answer = "x" })));
        (await Score(results)).AssertInputError("1 results are for questions not in the annotations (first: 7)");
    }

    [Fact]
    public async Task Missing_file_is_one_line_error() =>
        (await Score(Path.Combine(_dir, "nope.json"))).AssertInputError("does not exist");

    [Fact]
    public async Task Malformed_json_is_one_line_error() =>
        (await Score(Write("bad.json", "[{\"question_id\": 1,"))).AssertInputError("is not valid JSON");

    [Fact]
    public async Task Results_that_are_not_an_array_are_one_line_error() =>
        (await Score(Write("object.json", "{\"question_id\": 1}"))).AssertInputError("must be a JSON array");

    [Fact]
    public async Task Result_without_answer_is_one_line_error() =>
        (await Score(Write("noanswer.json", "[{\"question_id\": 1}]"))).AssertInputError("has no \"answer\" string");

    [Fact]
    public async Task Unknown_metric_is_a_usage_error() =>
        (await Score(Results("a", "b", "c"), "--metric", "fuzzy")).AssertInputError(
            "--metric must be official, official-2017 or normalized (got 'fuzzy')");

    public void Dispose()
    {
        _cli.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
