using System.Diagnostics;
using System.Net.Sockets;

namespace VqaPipeline.TestSupport;

/// <summary>
/// An S3 server of this test's own: s3rver, started as infra/local/up.sh starts the shared one (its patched copy in
/// infra/local/.cache), on a free port and a temporary folder, for tests that stop and start object storage. Its
/// objects survive <see cref="StopAsync"/>; disposing stops it and deletes them.
/// </summary>
public sealed class PrivateS3 : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vqa-s3-").FullName;
    private Process? _process;

    private PrivateS3(int port) => Port = port;

    public int Port { get; }

    /// <summary>The server's URL.</summary>
    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    /// <summary>s3rver's fixed credentials.</summary>
    public const string AccessKey = "S3RVER", SecretKey = "S3RVER-secret";

    /// <summary>The bucket the server creates when it starts.</summary>
    public string Bucket { get; } = "vqa-images";

    /// <summary>Starts a new server on a free port, the bucket created.</summary>
    public static async Task<PrivateS3> StartNewAsync()
    {
        var server = new PrivateS3(LocalPorts.Free());
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts the server (again) on its folder and port and waits until it accepts connections.</summary>
    public async Task StartAsync()
    {
        var log = Path.Combine(Path.GetTempPath(), $"{Path.GetFileName(_directory)}.log");
        _process = Process.Start(new ProcessStartInfo("bash",
        [
            "-c", "exec node \"$0\" --address 127.0.0.1 --port \"$1\" --directory \"$2\" --configure-bucket \"$3\" >>\"$4\" 2>&1",
            Path.Combine(S3rverFolder(), "bin", "s3rver.js"), Port.ToString(), Path.Combine(_directory, "objects"), Bucket, log,
        ]))!;
        var deadline = Stopwatch.StartNew();
        while (!await AcceptsAsync())
        {
            if (_process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
                throw new InvalidOperationException($"s3rver did not start on port {Port}: {(File.Exists(log) ? File.ReadAllText(log) : "no log")}");
            await Task.Delay(100);
        }
    }

    /// <summary>Whether the server is started.</summary>
    public bool Running => _process is { HasExited: false };

    /// <summary>Kills the server, as a crash would; its objects stay for <see cref="StartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
            return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// s3rver as up.sh installs it: in this checkout's infra/local/.cache, or else in the main checkout's (a git worktree
    /// has no cache of its own).
    /// </summary>
    private static string S3rverFolder()
    {
        var relative = Path.Combine("infra", "local", ".cache", "node_modules", "s3rver");
        var here = Path.Combine(Fixtures.RepositoryRoot, relative);
        if (Directory.Exists(here))
            return here;
        var gitFile = Path.Combine(Fixtures.RepositoryRoot, ".git");
        if (File.Exists(gitFile) && File.ReadAllText(gitFile).Trim() is var pointer && pointer.StartsWith("gitdir:"))
        {
            // gitdir: <main>/.git/worktrees/<name>
            var main = Path.GetFullPath(Path.Combine(pointer["gitdir:".Length..].Trim(), "..", "..", ".."));
            if (Directory.Exists(Path.Combine(main, relative)))
                return Path.Combine(main, relative);
        }
        throw new InvalidOperationException($"s3rver is not installed in {here}: run infra/local/up.sh --infra-only once");
    }
}
