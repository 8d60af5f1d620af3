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

    private WorkerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public int Port => BaseAddress.Port;

    /// <summary>Where it listens: 127.0.0.1, or its isolated host's address.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Whether the process has ended (exited, or was killed).</summary>
    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>
    /// Starts <paramref name="dll"/> from its own folder (where its appsettings.json is) with <paramref name="settings"/>,
    /// configuration keys (<c>Section:Key</c>) given to it as environment variables. In <paramref name="host"/>, when
    /// given, it runs inside that network namespace, listens on the host's address, and every setting it inherits or
    /// is given that names a server on this machine's loopback names the way the host reaches it instead.
    /// </summary>
    public static WorkerProcess Start(string dll, IEnumerable<KeyValuePair<string, string?>> settings, IsolatedHost? host = null)
    {
        var port = LocalPorts.Free();
        var start = host is null
            ? new ProcessStartInfo("dotnet", [dll])
            : new ProcessStartInfo(IsolatedHost.IpCommand, ["netns", "exec", host.Name, "dotnet", dll]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.WorkingDirectory = Path.GetDirectoryName(dll)!;
        foreach (var (key, value) in settings)
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        if (host is not null)
            foreach (var (key, value) in start.Environment.ToArray())
                if (value is not null)
                    start.Environment[key] = host.Reach(value);
        var baseAddress = new Uri($"http://{host?.Address.ToString() ?? "127.0.0.1"}:{port}");
        start.Environment["ASPNETCORE_URLS"] = baseAddress.ToString().TrimEnd('/');
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {dll}");
        var worker = new WorkerProcess(process, baseAddress);
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
