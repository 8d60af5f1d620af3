using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace VqaPipeline.TestSupport;

/// <summary>
/// A built service (<c>dotnet Service.dll</c>) running as a process of its own on a free port of 127.0.0.1, configured
/// through its environment, its output kept; <see cref="Kill"/> is SIGKILL, as a crash would be.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private WorkerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public int Id => _process.Id;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>
    /// Starts <paramref name="dll"/> from its own folder (where its appsettings.json is) with <paramref name="settings"/>,
    /// configuration keys (<c>Section:Key</c>) given to it as environment variables.
    /// </summary>
    public static WorkerProcess Start(string dll, IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var port = LocalPorts.Free();
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var (key, value) in settings)
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {dll}");
        var worker = new WorkerProcess(process, port);
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>
    /// <c>services/{project}/bin/{configuration}/…/{project}.dll</c> of the same build configuration as these tests:
    /// the service as its own build made it, with its own appsettings.json and dependencies.
    /// </summary>
    public static string BuiltServiceDll(string project)
    {
        var configuration = typeof(WorkerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var bin = Path.Combine(Fixtures.RepositoryRoot, "services", project, "bin", configuration);
        var dll = Directory.Exists(bin)
            ? Directory.EnumerateFiles(bin, $"{project}.dll", SearchOption.AllDirectories).FirstOrDefault()
            : null;
        return dll ?? throw new FileNotFoundException($"{project}.dll is not built under {bin}");
    }

    /// <summary>Waits until the process answers ready; the timeout's message carries its output.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan patience) =>
        (await ServiceReadiness.WaitAsync(BaseAddress, patience, () => Output)).Dispose();

    /// <summary>The process's resident memory now, from /proc (MiB).</summary>
    public double ResidentMiB()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }

    /// <summary>SIGKILL: no shutdown hook, no ack, no flush runs; unacknowledged messages go back to their queue.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Kills the process (if it still runs) and lets it go; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private int _disposed;

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }
}
