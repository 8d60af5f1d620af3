using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace VqaPipeline.TestSupport;

/// <summary>
/// A RabbitMQ node of this test's own (infra/local/rabbitmq-node.sh), for tests that stop or restart the broker: the
/// shared node on 5672 serves other tests at the same time and must never go down. Its data survives
/// <see cref="StopAsync"/> and <see cref="RestartAsync"/>; disposing stops it and deletes everything.
/// </summary>
public sealed class PrivateRabbitMq : IAsyncDisposable
{
    private static readonly string Script = Path.Combine(Fixtures.RepositoryRoot, "infra", "local", "rabbitmq-node.sh");
    private readonly string _directory = Directory.CreateTempSubdirectory("vqa-rabbitmq-").FullName;

    private PrivateRabbitMq(int port) => Port = port;

    /// <summary>The AMQP port; the node also uses the next two (distribution, epmd).</summary>
    public int Port { get; }

    /// <summary>The node's AMQP URL (guest/guest, default virtual host).</summary>
    public Uri Url => new($"amqp://guest:guest@127.0.0.1:{Port}/");

    /// <summary>Starts a new node on three free ports; takes 4–8 s.</summary>
    public static async Task<PrivateRabbitMq> StartNewAsync()
    {
        var node = new PrivateRabbitMq(FreePortRun(3));
        await node.StartAsync();
        return node;
    }

    /// <summary>Starts the node (again) on its data and waits until it accepts connections.</summary>
    public Task StartAsync() => RunAsync("start");

    /// <summary>Kills the node, as a crash would; its data stays for <see cref="StartAsync"/>.</summary>
    public Task StopAsync() => RunAsync("stop");

    /// <summary>Kills the node and starts it again on the same data.</summary>
    public Task RestartAsync() => RunAsync("restart");

    public async ValueTask DisposeAsync()
    {
        await RunAsync("stop");
        Directory.Delete(_directory, recursive: true);
    }

    private async Task RunAsync(string command)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", [Script, command, _directory, Port.ToString()])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"rabbitmq-node.sh {command} failed ({process.ExitCode}): {await errors}");
    }

    /// <summary>The first of <paramref name="count"/> consecutive local ports nothing listens on.</summary>
    private static int FreePortRun(int count)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var first = Random.Shared.Next(30_000, 40_000);
            if (Enumerable.Range(first, count).All(IsFree))
                return first;
        }
        throw new InvalidOperationException($"no run of {count} free ports between 30000 and 40000");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
