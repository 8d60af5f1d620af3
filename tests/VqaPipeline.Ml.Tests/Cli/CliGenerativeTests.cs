using System.Text.Json;

namespace VqaPipeline.Ml.Tests.Cli;

/// <summary>
/// <c>vqa ask</c> with the BLIP and BLIP-2 fixtures prints the answer Python generated, in the pipeline's JSON shape;
/// generative flags are checked, and misuse ends in one error line.
/// </summary>
public sealed class CliGenerativeTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "blip-vqa-tiny", "blip2-opt-tiny" })
            foreach (var testCase in Manifest(model).GetProperty("cases").EnumerateArray())
                data.Add(model, testCase.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonElement Manifest(string model) => Fixtures.Manifest(model, "expected", "manifest.json");

    private static JsonElement Case(string model, string name) =>
        Manifest(model).GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    /// <summary>The manifest's first case, whatever it is named, for checks that need one image and question.</summary>
    private static JsonElement FirstCase(string model) => Manifest(model).GetProperty("cases").EnumerateArray().First();

    public static TheoryData<string> Blip2Cases()
    {
        var data = new TheoryData<string>();
        foreach (var testCase in Manifest("blip2-opt-tiny").GetProperty("cases").EnumerateArray())
            data.Add(testCase.GetProperty("name").GetString()!);
        return data;
    }

    private static string ImageOf(JsonElement testCase) => Fixtures.PathOf(testCase.GetProperty("image").GetString()!);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Json_answer_is_pythons_greedy_text_stripped(string model, string name)
    {
        var testCase = Case(model, name);
        // BLIP-2's fixture used the guide's max_new_tokens=10; BLIP's its default length.
        string[] length = model == "blip2-opt-tiny" ? ["--max-new-tokens", "10"] : [];

        var run = await _cli.RunAsync(["ask", ImageOf(testCase), testCase.GetProperty("question").GetString()!,
            "--model", Fixtures.PathOf(model), "--json", .. length]);

        run.AssertSucceeded();
        var answer = Assert.Single(JsonDocument.Parse(run.Stdout).RootElement.EnumerateArray().ToArray());
        Assert.Equal(["answer", "score"], answer.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(testCase.GetProperty("greedy_text").GetString()!.Trim(), answer.GetProperty("answer").GetString());
        Assert.InRange(answer.GetProperty("score").GetDouble(), 0, 1);
    }

    [Theory]
    [MemberData(nameof(Blip2Cases))]
    public async Task Beam_search_answers_pythons_beam_text(string name)
    {
        var testCase = Case("blip2-opt-tiny", name);

        var run = await _cli.RunAsync("ask", ImageOf(testCase), testCase.GetProperty("question").GetString()!,
            "--model", Fixtures.PathOf("blip2-opt-tiny"), "--json", "--max-new-tokens", "10", "--num-beams", "3");

        run.AssertSucceeded();
        var answer = JsonDocument.Parse(run.Stdout).RootElement[0];
        Assert.Equal(testCase.GetProperty("beam3_text").GetString()!.Trim(), answer.GetProperty("answer").GetString());
    }

    [Fact]
    public async Task Candidates_are_listed_most_probable_first_for_each_question()
    {
        var testCase = FirstCase("blip-vqa-tiny");

        var run = await _cli.RunAsync("ask", ImageOf(testCase), "-q", "Is there a cat?", "-q", "Is it night?",
            "--model", Fixtures.PathOf("blip-vqa-tiny"), "--json", "--candidates", "yes, no ,talk");

        run.AssertSucceeded();
        var results = JsonDocument.Parse(run.Stdout).RootElement.EnumerateArray().ToArray();
        Assert.Equal(["Is there a cat?", "Is it night?"], results.Select(r => r.GetProperty("question").GetString()));
        foreach (var result in results)
        {
            var answers = result.GetProperty("answers").EnumerateArray().ToArray();
            Assert.Equal(["no", "talk", "yes"], answers.Select(a => a.GetProperty("answer").GetString()).Order());
            var scores = answers.Select(a => a.GetProperty("score").GetDouble()).ToArray();
            Assert.Equal(scores.OrderDescending(), scores);
        }
    }

    [Fact]
    public async Task A_custom_prompt_changes_what_blip2_reads()
    {
        var testCase = FirstCase("blip2-opt-tiny");
        var question = testCase.GetProperty("question").GetString()!;
        string[] common = ["ask", ImageOf(testCase), question, "--model", Fixtures.PathOf("blip2-opt-tiny"), "--json", "--max-new-tokens", "10"];

        var guide = await _cli.RunAsync([.. common, "--prompt", "Question: {question} Answer:"]);
        var other = await _cli.RunAsync([.. common, "--prompt", "{question} Short answer:"]);

        guide.AssertSucceeded();
        other.AssertSucceeded();
        Assert.Equal(testCase.GetProperty("greedy_text").GetString()!.Trim(), JsonDocument.Parse(guide.Stdout).RootElement[0].GetProperty("answer").GetString());
        Assert.NotEqual(guide.Stdout, other.Stdout);
    }

    [Fact]
    public async Task Eval_writes_and_scores_the_generated_answer_of_every_question()
    {
        var sample = Fixtures.PathOf("vqa-v2-sample");
        using var folder = new Checkpoints.TemporaryFolder();
        var results = folder.File("results.json");
        var model = Fixtures.PathOf("blip-vqa-tiny");

        var run = await _cli.RunAsync("eval", "--model", model, "--data", sample, "--output", results, "--json",
            "--max-new-tokens", "3", "--limit", "4");

        run.AssertSucceeded();
        var written = JsonDocument.Parse(File.ReadAllText(results)).RootElement.EnumerateArray().ToArray();
        var dataset = Ml.Data.VqaDataset.Open(sample, new Ml.Data.DataOptions());
        var examples = dataset.Read().Take(4).ToArray();
        Assert.Equal(examples.Select(e => e.QuestionId), written.Select(r => r.GetProperty("question_id").GetInt64()));
        using var engine = Ml.Pipelines.VqaEngine.FromPretrained(model);
        var options = new Ml.Pipelines.GenerationOptions { MaxNewTokens = 3 };
        for (var i = 0; i < examples.Length; i++)
            Assert.Equal(engine.Generate(dataset.LoadImage(examples[i]), [examples[i].Question], options).Single().Answer,
                written[i].GetProperty("answer").GetString());
        Assert.InRange(JsonDocument.Parse(run.Stdout).RootElement.GetProperty("overall").GetDouble(), 0, 100);
    }

    private Task<CliRun> AskAsync(string model, params string[] more) =>
        _cli.RunAsync(["ask", Fixtures.PathOf("images", "coco_cats.png"), "How many cats are there?", "--model", Fixtures.PathOf(model), .. more]);

    [Fact]
    public async Task Zero_beams_is_refused() =>
        (await AskAsync("blip2-opt-tiny", "--num-beams", "0")).AssertInputError("--num-beams must be at least 1");

    [Fact]
    public async Task Zero_new_tokens_is_refused() =>
        (await AskAsync("blip-vqa-tiny", "--max-new-tokens", "0")).AssertInputError("--max-new-tokens must be at least 1");

    [Fact]
    public async Task A_prompt_without_the_question_slot_is_refused() =>
        (await AskAsync("blip2-opt-tiny", "--prompt", "Describe the picture.")).AssertInputError("{question}");

    [Theory]
    [InlineData("blip-vqa-tiny")]
    [InlineData("blip2-opt-tiny")]
    public async Task More_new_tokens_than_positions_is_refused(string model) =>
        (await AskAsync(model, "--max-new-tokens", "5000")).AssertInputError("positions");

    [Fact]
    public async Task Candidates_on_a_classifier_are_refused() =>
        (await AskAsync("vilt-tiny", "--candidates", "yes,no")).AssertInputError("apply to generative models");

    [Fact]
    public async Task An_empty_question_is_refused() =>
        (await _cli.RunAsync("ask", Fixtures.PathOf("images", "coco_cats.png"), "-q", " ", "--model", Fixtures.PathOf("blip2-opt-tiny")))
            .AssertInputError("question is empty");

    [Fact]
    public async Task A_blip2_folder_without_merges_is_refused()
    {
        using var copy = new TinyModelCopy("blip2-opt-tiny");
        copy.Delete("merges.txt");

        var run = await _cli.RunAsync("ask", Fixtures.PathOf("images", "coco_cats.png"), "How many cats?", "--model", copy.Path);

        run.AssertInputError("merges.txt");
    }

    [Theory]
    [InlineData("blip-vqa-tiny", "blip")]
    [InlineData("blip2-opt-tiny", "blip-2")]
    public async Task Inspect_reports_a_complete_load_of_every_key(string model, string modelType)
    {
        var run = await _cli.RunAsync("inspect", Fixtures.PathOf(model), "--json", "--strict");

        run.AssertSucceeded();
        var report = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(modelType, report.GetProperty("modelType").GetString());
        Assert.Empty(report.GetProperty("missingKeys").EnumerateArray());
        Assert.Empty(report.GetProperty("unexpectedKeys").EnumerateArray());
        Assert.True(report.GetProperty("tensors").GetInt32() > 0);
    }
}
