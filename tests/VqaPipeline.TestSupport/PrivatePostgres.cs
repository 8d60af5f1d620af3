using System.Diagnostics;

namespace VqaPipeline.TestSupport;

/// <summary>
/// A PostgreSQL server of this test's own (initdb into a temporary folder, a free port, trust authentication on
/// 127.0.0.1), for tests that stop and start the database: the shared server serves other tests at the same time and
/// must never go down. Its data survives <see cref="StopAsync"/>; disposing stops it and deletes everything. As root
/// it runs as the <c>postgres</c> user, as infra/local/up.sh does, since initdb refuses to run as root.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string Binaries = "/usr/local/bin";
    private const string ServiceUser = "postgres";
    private readonly string _directory = Directory.CreateTempSubdirectory("vqa-postgres-").FullName;

    private readonly IReadOnlyList<IsolatedHost> _reachableFrom;

    private PrivatePostgres(int port, IReadOnlyList<IsolatedHost> reachableFrom)
    {
        Port = port;
        _reachableFrom = reachableFrom;
    }

    public int Port { get; }

    private string DataDirectory => Path.Combine(_directory, "data");

    private string LogFile => Path.Combine(_directory, "postgres.log");

    /// <summary>The superuser's connection string (no password: trust authentication).</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Database=postgres;Username=postgres";

    /// <summary>
    /// Creates a new cluster on a free port and starts it; takes a few seconds. Each of <paramref name="reachableFrom"/>
    /// reaches it directly over its link (the server listens on the link's address here too and trusts the host's
    /// address), with no relay between: the server sees the host vanish as it would a real one.
    /// </summary>
    public static async Task<PrivatePostgres> StartNewAsync(params IsolatedHost[] reachableFrom)
    {
        var server = new PrivatePostgres(LocalPorts.Free(), reachableFrom);
        if (RunsAsRoot)
            await TestProcess.RunAsync("chown", [ServiceUser, server._directory]);
        await server.RunAsync("initdb", "-D", server.DataDirectory, "-U", "postgres", "-E", "UTF8", "--no-locale",
            "--no-sync", "--auth=trust");
        await File.AppendAllLinesAsync(Path.Combine(server.DataDirectory, "pg_hba.conf"),
            reachableFrom.Select(host => $"host all all {host.Address}/32 trust"));
        foreach (var host in reachableFrom)
            host.ServeDirectly(server.Port);
        await server.StartAsync();
        return server;
    }

    /// <summary>
    /// Starts the server (again) on its data and port and waits until it accepts connections. Its TCP keepalives and
    /// user timeout end, within seconds, the session of a client that vanished (a transaction it left open is rolled
    /// back, its locks freed): what a production server configured for hosts that disappear does, faster.
    /// </summary>
    public Task StartAsync() =>
        RunAsync("pg_ctl", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start", "-o",
            $"-c port={Port} -c listen_addresses={string.Join(',', _reachableFrom.Select(h => h.HostAddress.ToString()).Prepend("127.0.0.1"))}"
            + $" -c unix_socket_directories={DataDirectory} -c max_connections=300"
            + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            + " -c tcp_keepalives_idle=2 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=3 -c tcp_user_timeout=5000");

    /// <summary>Stops the server as an operator's fast shutdown does: sessions are ended, in-flight transactions rolled back.</summary>
    public Task StopAsync() => RunAsync("pg_ctl", "-D", DataDirectory, "-w", "-t", "60", "stop", "-m", "fast");

    /// <summary>Whether the server is started (its postmaster's pid file is there).</summary>
    public bool Running => File.Exists(Path.Combine(DataDirectory, "postmaster.pid"));

    public async ValueTask DisposeAsync()
    {
        if (Running)
            await RunAsync("pg_ctl", "-D", DataDirectory, "-w", "-t", "60", "stop", "-m", "immediate");
        Directory.Delete(_directory, recursive: true);
    }

    private static bool RunsAsRoot => Environment.UserName == "root";

    private async Task RunAsync(string binary, params string[] arguments)
    {
        var path = Path.Combine(Binaries, binary);
        try
        {
            if (RunsAsRoot)
                await TestProcess.RunAsync("runuser", ["-u", ServiceUser, "--", path, .. arguments]);
            else
                await TestProcess.RunAsync(path, arguments);
        }
        catch (InvalidOperationException failure) when (File.Exists(LogFile))
        {
            throw new InvalidOperationException($"{failure.Message}\n{File.ReadAllText(LogFile)}", failure);
        }
    }
}

/// <summary>Runs a short command to its end.</summary>
public static class TestProcess
{
    /// <summary>Runs <paramref name="fileName"/>; throws with its error output when it exits with a status other than 0.</summary>
    public static async Task RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        using var process = Process.Start(new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(90));
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await errors}{await output}");
    }
}
