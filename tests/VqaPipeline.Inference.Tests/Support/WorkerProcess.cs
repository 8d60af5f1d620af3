using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VqaPipeline.Inference.Tests.Support;

/// <summary>The inference worker as a real process (<c>dotnet VqaPipeline.Inference.dll</c>), killable with SIGKILL.</summary>
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

    public int Id => _process.Id;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>The worker's resident memory now, from /proc (MiB).</summary>
    public double ResidentMiB()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }

    public static WorkerProcess Start(string connectionString, string brokerUrl, IReadOnlyDictionary<string, string?> queues)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet", [WorkerDll()])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(WorkerDll())!,
        };
        start.Environment["VQA_POSTGRES"] = connectionString;
        start.Environment["VQA_RABBITMQ_URL"] = brokerUrl;
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Serilog__MinimumLevel__Override__MassTransit"] = "Warning";
        foreach (var (key, value) in queues)
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the inference worker");
        var worker = new WorkerProcess(process, port);
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>SIGKILL: no shutdown, unacknowledged messages go back to the queue.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>The worker built next to this test build (same configuration).</summary>
    private static string WorkerDll()
    {
        var configuration = typeof(WorkerProcess).Assembly.Location.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}")
            ? "Release" : "Debug";
        var bin = Path.Combine(Fixtures.RepositoryRoot, "services", "VqaPipeline.Inference", "bin", configuration);
        return Directory.EnumerateFiles(bin, "VqaPipeline.Inference.dll", SearchOption.AllDirectories).FirstOrDefault()
               ?? throw new FileNotFoundException($"VqaPipeline.Inference.dll is not built under {bin}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
