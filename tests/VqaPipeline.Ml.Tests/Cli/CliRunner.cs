using VqaPipeline.Cli;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Tests.Hub;

namespace VqaPipeline.Ml.Tests.Cli;

/// <summary>What one <c>vqa</c> run left behind.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The CLI's contract for bad input: non-zero exit, one "error:" line on stderr, no trace, empty stdout.</summary>
    public void AssertInputError(string expectedFragment)
    {
        Assert.True(ExitCode != 0, $"exit code 0; stdout: {Stdout}");
        var line = Assert.Single(StderrLines);
        Assert.StartsWith("error: ", line);
        Assert.Contains(expectedFragment, line);
        Assert.DoesNotContain("   at ", Stderr);
        Assert.Equal("", Stdout);
    }

    public void AssertSucceeded()
    {
        Assert.True(ExitCode == 0, $"exit code {ExitCode}; stderr: {Stderr}");
    }
}

/// <summary>
/// Runs <c>vqa</c> in-process through <see cref="VqaCommandLine.RunAsync(string[], TextWriter, TextWriter, HubOptions, CancellationToken)"/>.
/// Hub ids go to <paramref name="hubEndpoint"/> (by default an address where nothing listens, so no test reaches
/// huggingface.co) with a cache folder of the runner's own.
/// </summary>
internal sealed class CliRunner(string? hubEndpoint = null) : IDisposable
{
    public string CacheDir { get; } = Directory.CreateTempSubdirectory("vqa-cli-cache-").FullName;

    public HubOptions Hub => new() { Endpoint = hubEndpoint ?? FakeHub.UnreachableEndpoint(), CacheDir = CacheDir };

    public async Task<CliRun> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await VqaCommandLine.RunAsync(args, stdout, stderr, Hub);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    public void Dispose() => Directory.Delete(CacheDir, recursive: true);
}
