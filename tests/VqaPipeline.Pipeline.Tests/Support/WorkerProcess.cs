using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace VqaPipeline.Pipeline.Tests.Support;

/// <summary>
/// The built preprocessing service (<c>VqaPipeline.Preprocessing.dll</c> of the same build configuration as these
/// tests) running as a process of its own, its output kept in a log file.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _logFile;

    private WorkerProcess(Process process, string logFile, Uri baseAddress) =>
        (_process, _logFile, BaseAddress) = (process, logFile, baseAddress);

    public Uri BaseAddress { get; }

    public string Log => File.Exists(_logFile) ? File.ReadAllText(_logFile) : "";

    public static WorkerProcess Start(IReadOnlyDictionary<string, string> environment)
    {
        var configuration = typeof(WorkerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var directory = Path.Combine(Fixtures.RepositoryRoot, "services", "VqaPipeline.Preprocessing", "bin", configuration, "net10.0");
        var dll = Path.Combine(directory, "VqaPipeline.Preprocessing.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"the preprocessing service is not built at {dll}", dll);

        var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        var logFile = Path.Combine(Path.GetTempPath(), $"vqa-worker-{Guid.NewGuid():N}.log");
        // Through a shell only for the redirection; exec makes the dotnet process the one Kill() signals.
        var start = new ProcessStartInfo("bash", ["-c", $"exec dotnet '{dll}' >'{logFile}' 2>&1"])
        {
            WorkingDirectory = directory, // where appsettings.json is
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        start.Environment["ASPNETCORE_URLS"] = baseAddress.ToString();
        return new WorkerProcess(Process.Start(start)!, logFile, baseAddress);
    }

    /// <summary>SIGKILL: no shutdown hook, no ack, no flush runs.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            Kill();
        _process.Dispose();
        File.Delete(_logFile);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
