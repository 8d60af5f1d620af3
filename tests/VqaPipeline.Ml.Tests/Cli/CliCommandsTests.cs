using System.Text.Json;
using System.Text.RegularExpressions;

namespace VqaPipeline.Ml.Tests.Cli;

/// <summary>The happy paths of <c>vqa inspect</c>, <c>tokenize</c> and <c>preprocess</c>, and the help texts.</summary>
public sealed class CliCommandsTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    private static string Model => Fixtures.PathOf("vilt-tiny");

    public static TheoryData<string> AskCases => ViltTinyCases.Names;

    public static TheoryData<string> ProcessedImages => new(
        ImageProcessing().GetProperty("cases").EnumerateArray()
            .Where(c => c.TryGetProperty("vilt", out _))
            .Select(c => c.GetProperty("image").GetString()!));

    [Fact]
    public async Task Inspect_reports_the_fixture_model_as_a_complete_load()
    {
        var config = Fixtures.Manifest("vilt-tiny", "config.json");

        var text = await _cli.RunAsync("inspect", Model);
        var json = await _cli.RunAsync("inspect", Model, "--json", "--strict");

        text.AssertSucceeded();
        Assert.Contains($"folder        {Model}\n", text.Stdout);
        Assert.Contains("model_type    vilt (ViltForQuestionAnswering)\n", text.Stdout);
        Assert.Contains("load          complete\n", text.Stdout);
        json.AssertSucceeded();
        var report = JsonDocument.Parse(json.Stdout).RootElement;
        Assert.Equal("vilt", report.GetProperty("modelType").GetString());
        Assert.Equal(config.GetProperty("id2label").EnumerateObject().Count(), report.GetProperty("numLabels").GetInt32());
        Assert.Empty(report.GetProperty("missingKeys").EnumerateArray());
        Assert.Empty(report.GetProperty("unexpectedKeys").EnumerateArray());
        Assert.Empty(report.GetProperty("mismatchedKeys").EnumerateArray());
    }

    [Fact]
    public async Task Inspect_names_an_unused_checkpoint_key_as_transformers_does_and_strict_refuses_it()
    {
        using var model = new TinyModelCopy();
        model.AddUnusedSafetensorsKey("extra.weight");

        var text = await _cli.RunAsync("inspect", model.Path);
        var json = await _cli.RunAsync("inspect", model.Path, "--json");
        var strict = await _cli.RunAsync("inspect", model.Path, "--strict");

        text.AssertSucceeded();
        Assert.Contains(
            $"Some weights of the model checkpoint at {model.Path} were not used when initializing ViltForQuestionAnswering: ['extra.weight']",
            text.Stdout);
        json.AssertSucceeded();
        Assert.Equal(["extra.weight"],
            JsonDocument.Parse(json.Stdout).RootElement.GetProperty("unexpectedKeys").EnumerateArray().Select(k => k.GetString()));
        strict.AssertInputError("unexpected keys ['extra.weight']");
    }

    [Theory]
    [MemberData(nameof(AskCases))]
    public async Task Tokenize_gives_the_ids_pythons_pipeline_fed_the_model(string name)
    {
        var testCase = ViltTinyCases.Named(name);
        var question = ViltTinyCases.Question(testCase);
        var padded = testCase.GetProperty("input_ids").EnumerateArray().Select(id => id.GetInt64()).ToArray();

        var unpadded = await _cli.RunAsync("tokenize", question, "--model", Model, "--json");
        var toLength = await _cli.RunAsync("tokenize", question, "--model", Model, "--json",
            "--max-length", padded.Length.ToString(), "--pad");

        unpadded.AssertSucceeded();
        var encoded = JsonDocument.Parse(unpadded.Stdout).RootElement;
        Assert.Equal(testCase.GetProperty("pipeline_input_ids_unpadded").EnumerateArray().Select(id => id.GetInt64()),
            encoded.GetProperty("inputIds").EnumerateArray().Select(id => id.GetInt64()));
        Assert.Equal(encoded.GetProperty("inputIds").GetArrayLength() - 2, encoded.GetProperty("tokens").GetArrayLength());
        Assert.False(encoded.GetProperty("truncated").GetBoolean());
        toLength.AssertSucceeded();
        Assert.Equal(padded,
            JsonDocument.Parse(toLength.Stdout).RootElement.GetProperty("inputIds").EnumerateArray().Select(id => id.GetInt64()));
    }

    [Fact]
    public async Task Tokenize_pad_without_max_length_is_a_usage_error() =>
        (await _cli.RunAsync("tokenize", "hello", "--model", Model, "--pad")).AssertInputError("--pad needs --max-length");

    [Theory]
    [InlineData("2")]
    [InlineData("-1")]
    public async Task Tokenize_max_length_without_room_for_text_is_a_usage_error(string maxLength) =>
        (await _cli.RunAsync("tokenize", "hello", "--model", Model, "--max-length", maxLength)).AssertInputError("--max-length must be at least 3");

    [Theory]
    [MemberData(nameof(ProcessedImages))]
    public async Task Preprocess_gives_pythons_sizes_and_value_range(string image)
    {
        var expected = ImageProcessing().GetProperty("cases").EnumerateArray()
            .Single(c => c.GetProperty("image").GetString() == image);
        var vilt = expected.GetProperty("vilt");
        var path = Fixtures.PathOf(image);

        var run = await _cli.RunAsync("preprocess", path, "--model", Model, "--json");

        run.AssertSucceeded();
        var result = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(Ints(vilt.GetProperty("shapes").GetProperty("pixel_values").GetProperty("shape")),
            Ints(result.GetProperty("pixelValuesShape")));
        var row = Assert.Single(result.GetProperty("images").EnumerateArray());
        Assert.Equal(path, row.GetProperty("image").GetString());
        Assert.Equal(Ints(expected.GetProperty("source_size_wh")).Reverse(), Ints(row.GetProperty("sourceSize")));
        Assert.Equal(Ints(vilt.GetProperty("output_hw")), Ints(row.GetProperty("resized")));
        var stats = vilt.GetProperty("pixel_values_stats");
        Assert.Equal(stats.GetProperty("min").GetDouble(), result.GetProperty("min").GetDouble(), 1e-6);
        Assert.Equal(stats.GetProperty("max").GetDouble(), result.GetProperty("max").GetDouble(), 1e-6);
    }

    [Fact]
    public async Task Preprocess_of_several_images_pads_them_to_one_batch_as_python_does()
    {
        var batch = ImageProcessing().GetProperty("batch3");
        var images = batch.GetProperty("images").EnumerateArray().Select(i => Fixtures.PathOf(i.GetString()!)).ToArray();

        var run = await _cli.RunAsync(["preprocess", .. images, "--model", Model, "--json"]);

        run.AssertSucceeded();
        var result = JsonDocument.Parse(run.Stdout).RootElement;
        var padded = Ints(batch.GetProperty("padded_hw"));
        Assert.Equal([images.Length, 3, padded[0], padded[1]], Ints(result.GetProperty("pixelValuesShape")));
        Assert.Equal(batch.GetProperty("per_image_valid_hw").EnumerateArray().Select(Ints),
            result.GetProperty("images").EnumerateArray().Select(r => Ints(r.GetProperty("resized"))));
    }

    [Fact]
    public async Task Root_help_and_every_commands_help_show_an_example()
    {
        var root = await _cli.RunAsync("--help");

        root.AssertSucceeded();
        Assert.Contains("Example", root.Stdout);
        var commandsSection = root.Stdout[root.Stdout.IndexOf("Commands:", StringComparison.Ordinal)..];
        var commands = Regex.Matches(commandsSection, @"^  (\w+) ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();
        Assert.Superset(new HashSet<string> { "ask", "download", "inspect", "tokenize", "preprocess" }, commands.ToHashSet());
        foreach (var command in commands)
        {
            var help = await _cli.RunAsync(command, "--help");
            help.AssertSucceeded();
            Assert.Contains($"vqa {command}", help.Stdout);
            Assert.Matches(@"Examples?:\n  +vqa ", help.Stdout.ReplaceLineEndings("\n"));
        }
    }

    private static JsonElement ImageProcessing() => Fixtures.Manifest("image-processing", "manifest.json");

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(i => i.GetInt32()).ToArray();
}
