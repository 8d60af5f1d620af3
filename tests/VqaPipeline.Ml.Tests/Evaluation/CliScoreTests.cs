using System.Text.Json;
using VqaPipeline.Ml.Tests.Cli;

namespace VqaPipeline.Ml.Tests.Evaluation;

/// <summary><c>vqa score</c> on the real VQA v2 sample, run in-process.</summary>
public sealed class CliScoreTests : IDisposable
{
    private readonly CliRunner _cli = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("vqa-score-").FullName;

    private static string Questions => Fixtures.PathOf("vqa-v2-sample", "questions.json");
    private static string Annotations => Fixtures.PathOf("vqa-v2-sample", "annotations_evalready_DERIVED.json");

    private static long[] SampleIds() =>
        Fixtures.Manifest("vqa-v2-sample", "annotations_evalready_DERIVED.json").GetProperty("annotations")
            .EnumerateArray().Select(a => a.GetProperty("question_id").GetInt64()).ToArray();

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private string Results(params string[] answers) => Write("results.json",
        JsonSerializer.Serialize(SampleIds().Zip(answers, (id, answer) => new { question_id = id, answer })));

    private Task<CliRun> Score(string results, params string[] extra) =>
        _cli.RunAsync(["score", "--questions", Questions, "--annotations", Annotations, "--results", results, .. extra]);

    [Fact]
    public async Task Json_is_the_only_stdout_and_has_the_official_numbers()
    {
        var run = await Score(Results("pitcher", "Pitcher.", "The orange"), "--json");
        run.AssertSucceeded();
        var root = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(["overall", "perAnswerType", "perQuestionType"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(76.67, root.GetProperty("overall").GetDouble());
        Assert.Equal(76.67, root.GetProperty("perAnswerType").GetProperty("other").GetDouble());
        var perType = Fixtures.Manifest("vqa-v2-sample", "annotations_evalready_DERIVED.json").GetProperty("annotations")
            .EnumerateArray().Select(a => root.GetProperty("perQuestionType").GetProperty(a.GetProperty("question_type").GetString()!).GetDouble());
        Assert.Equal([30.0, 100.0, 100.0], perType);
    }

    [Fact]
    public async Task Human_output_follows_the_official_demo()
    {
        var run = await Score(Results("netting", "catcher", "blue"));
        run.AssertSucceeded();
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
        var run = await _cli.RunAsync("score", "--questions", Questions, "--annotations",
            Fixtures.PathOf("vqa-v2-sample", "annotations.json"), "--results", Results("net", "pitcher", "orange"), "--json");
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
        (await Score(Results("a", "b", "c"), "--metric", "fuzzy")).AssertInputError("--metric must be official or normalized (got 'fuzzy')");

    public void Dispose()
    {
        _cli.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
