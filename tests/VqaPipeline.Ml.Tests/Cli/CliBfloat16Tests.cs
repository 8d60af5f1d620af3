using VqaPipeline.Ml.Data.Synthetic;
using VqaPipeline.Ml.Models;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Models;

namespace VqaPipeline.Ml.Tests.Cli;

/// <summary>
/// <c>--dtype bfloat16</c> where libtorch can only emulate it is a one-line error naming the CPU, unless the caller opts
/// in with <c>--allow-emulated-bfloat16</c>; where the CPU runs bfloat16 at speed it simply runs.
/// </summary>
public sealed class CliBfloat16Tests : IDisposable
{
    private readonly CliRunner cli = new();
    private readonly TemporaryFolder temp = new();

    public void Dispose()
    {
        cli.Dispose();
        temp.Dispose();
    }

    private string Scenes()
    {
        new SyntheticSceneGenerator(new SyntheticOptions { Images = 2, Seed = 9, ImageSize = 96 }).Generate(temp.File("scenes"));
        return temp.File("scenes");
    }

    public static TheoryData<string> Commands => new() { "ask", "eval", "finetune" };

    private string[] Arguments(string command)
    {
        var scenes = Scenes();
        return command switch
        {
            "ask" => ["ask", Directory.GetFiles(scenes, "*.jpg", SearchOption.AllDirectories)[0], "What is it?", "--model", ViltFixture.ModelFolder],
            "eval" => ["eval", "--data", scenes, "--model", ViltFixture.ModelFolder, "--output", temp.File("results.json")],
            _ => ["finetune", "--data", scenes, "--out", temp.File("out"), "--model", ViltFixture.ModelFolder, "--max-steps", "1"],
        };
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Bfloat16_is_refused_naming_the_cpu_where_it_would_be_emulated(string command)
    {
        var run = await cli.RunAsync([.. Arguments(command), "--dtype", "bfloat16"]);

        if (CpuCapabilities.Current.RunsBfloat16AtSpeed)
            run.AssertSucceeded();
        else
        {
            run.AssertInputError($"bfloat16 on this CPU is emulated by libtorch, orders of magnitude slower than float32: {CpuCapabilities.Current.Describe()}");
            Assert.Contains("--allow-emulated-bfloat16", run.Stderr);
        }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Opting_in_runs_bfloat16_on_any_cpu(string command) =>
        (await cli.RunAsync([.. Arguments(command), "--dtype", "bfloat16", "--allow-emulated-bfloat16"])).AssertSucceeded();
}
