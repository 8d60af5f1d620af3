using System.Diagnostics;
using System.Text.Json;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Tests.Hub;

namespace VqaPipeline.Ml.Tests.Cli;

/// <summary>The built <c>vqa</c> executable as a real process: exit codes, stdin, and stdout holding only JSON.</summary>
public sealed class CliProcessTests
{
    [Fact]
    public async Task The_vqa_executable_reads_stdin_writes_only_json_and_exits_non_zero_on_bad_input()
    {
        var testCase = ViltTinyCases.All[0];
        var model = Fixtures.PathOf("vilt-tiny");

        var answered = await RunVqaAsync(await File.ReadAllBytesAsync(ViltTinyCases.ImagePath(testCase)),
            "ask", "-", ViltTinyCases.Question(testCase), "--model", model, "--json");
        var refused = await RunVqaAsync([], "ask", Path.Combine(Path.GetTempPath(), $"absent-{Guid.NewGuid():N}.jpg"), "What?",
            "--model", model, "--json");

        Assert.True(answered.ExitCode == 0, answered.Stderr);
        Assert.Equal("", answered.Stderr);
        // The whole of stdout is one JSON document (plus the newline ending it): no banner, log or progress line.
        ViltTinyCases.AssertPipelineAnswers(testCase, JsonDocument.Parse(answered.Stdout).RootElement);
        Assert.EndsWith("]\n", answered.Stdout);
        Assert.Equal(1, refused.ExitCode);
        refused.AssertInputError("file not found");
    }

    [Fact]
    public async Task With_no_model_named_vqa_eval_uses_the_bundled_model()
    {
        var examples = Path.Combine(Fixtures.RepositoryRoot, "examples");
        var bundled = Path.Combine(AppContext.BaseDirectory, "models", BundledModels.Default);
        var output = Path.Combine(Path.GetTempPath(), $"vqa-results-{Guid.NewGuid():N}.json");
        try
        {
            var byDefault = await RunVqaAsync([], "eval", "--data", examples, "--output", output, "--json");
            var named = await RunVqaAsync([], "eval", "--data", examples, "--output", output, "--model", bundled, "--json");

            Assert.True(byDefault.ExitCode == 0, byDefault.Stderr);
            Assert.True(named.ExitCode == 0, named.Stderr);
            Assert.Equal(named.Stdout, byDefault.Stdout);
            var summary = JsonDocument.Parse(byDefault.Stdout).RootElement;
            Assert.True(summary.GetProperty("overall").GetDouble() > summary.GetProperty("majorityBaseline").GetProperty("overall").GetDouble() + 20,
                byDefault.Stdout);
        }
        finally
        {
            File.Delete(output);
        }
    }

    private static async Task<CliRun> RunVqaAsync(byte[] stdin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vqa.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // Keep the child off the real Hub whatever the machine's environment says.
        start.Environment["HF_ENDPOINT"] = FakeHub.UnreachableEndpoint();
        start.Environment["HF_HUB_OFFLINE"] = "1";
        start.Environment.Remove("VQA_MODEL");

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin, timeout.Token);
            process.StandardInput.Close();
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new CliRun(process.ExitCode, await stdout, await stderr);
    }
}
