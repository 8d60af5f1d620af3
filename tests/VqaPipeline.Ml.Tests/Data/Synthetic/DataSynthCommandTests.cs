using System.CommandLine;
using System.Text.Json;
using VqaPipeline.Cli;
using VqaPipeline.Cli.Commands;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Cli;

namespace VqaPipeline.Ml.Tests.Data.Synthetic;

/// <summary><c>vqa data synth</c>: the happy path, its help, and bad arguments answered with one error line.</summary>
public sealed class DataSynthCommandTests : IDisposable
{
    private readonly TemporaryFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Runs <c>vqa data synth</c> as a <c>vqa data</c> group would hold it; arguments that do not parse fail the test.</summary>
    private static async Task<CliRun> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr, new HubOptions());
        var root = new RootCommand { new Command("data") { DataSynthCommand.Create(console) } };
        var parsed = root.Parse(["data", "synth", .. args]);
        Assert.Empty(parsed.Errors.Select(e => e.Message));
        var exitCode = await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr });
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Writes_a_dataset_and_summarises_it()
    {
        var output = _temp.File("out");

        var run = await RunAsync("--out", output, "--images", "6", "--seed", "3", "--questions-per-image", "4",
            "--image-size", "192", "--min-objects", "2", "--max-objects", "3", "--layout", "grid", "--scenes");

        run.AssertSucceeded();
        Assert.StartsWith($"wrote 6 images and 24 questions to {output} in ", run.Stdout);
        Assert.Contains("existence", run.Stdout);
        Assert.Equal(["annotations.json", "images", "questions.json", "scenes.json"],
            Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order());
        Assert.Equal(6, Directory.GetFiles(Path.Combine(output, "images"), "COCO_synth3_0000030000*.jpg").Length);
        var scenes = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "scenes.json"))).RootElement;
        Assert.Equal("grid", scenes.GetProperty("layout").GetString());
        Assert.All(scenes.GetProperty("scenes").EnumerateArray(), s => Assert.Equal(192, s.GetProperty("width").GetInt32()));
    }

    [Fact]
    public async Task Json_output_carries_the_stats()
    {
        var run = await RunAsync("-o", _temp.File("out"), "-n", "4", "-s", "9", "--json");

        run.AssertSucceeded();
        var stats = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(4, stats.GetProperty("images").GetInt32());
        Assert.Equal(20, stats.GetProperty("questions").GetInt32());
        Assert.Equal(20, stats.GetProperty("questionsPerFamily").EnumerateObject().Sum(f => f.Value.GetInt32()));
        Assert.Equal(["existence", "spatial"], stats.GetProperty("yesNoPerFamily").EnumerateObject().Select(f => f.Name).Order());
    }

    [Fact]
    public async Task Help_documents_every_option_with_examples()
    {
        var run = await RunAsync("--help");

        run.AssertSucceeded();
        foreach (var option in new[] { "--out", "--images", "--seed", "--questions-per-image", "--image-size", "--min-objects",
                     "--max-objects", "--layout", "--scenes", "--json", "Examples:" })
            Assert.Contains(option, run.Stdout);
    }

    [Theory]
    [InlineData("0", "the number of images must be between 1")]
    [InlineData("-5", "(got -5)")]
    public async Task A_non_positive_image_count_is_one_error_line(string images, string expected) =>
        (await RunAsync("--out", _temp.File("out"), "--images", images, "--seed", "1")).AssertInputError(expected);

    [Fact]
    public async Task An_unwritable_output_folder_is_one_error_line()
    {
        File.WriteAllText(_temp.File("plain"), "");

        (await RunAsync("--out", Path.Combine(_temp.File("plain"), "out"), "--images", "2", "--seed", "1"))
            .AssertInputError("cannot create output folder");
    }

    [Fact]
    public async Task A_grid_that_cannot_hold_the_objects_is_one_error_line() =>
        (await RunAsync("--out", _temp.File("out"), "--images", "2", "--seed", "1", "--layout", "grid", "--image-size", "160"))
        .AssertInputError("too few for 6 objects");
}
