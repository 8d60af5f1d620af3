using System.Diagnostics;
using System.Reflection;

namespace VqaPipeline.Indexing.Tests.Support;

/// <summary>The built CLI (<c>dotnet vqa.dll …</c>) as a process of its own, as a user or a script runs it.</summary>
public static class VqaProcess
{
    private static string Dll =>
        typeof(VqaProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "VqaCliDll").Value!;

    /// <summary>Runs <c>vqa <paramref name="args"/></c> with <paramref name="environment"/> over the test's own; its exit code and output.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
