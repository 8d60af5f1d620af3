using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Xunit;

namespace VqaPipeline.TestSupport;

/// <summary>
/// A separate host on this machine: a Linux network namespace of its own, joined to this one by a virtual Ethernet
/// link (a veth pair, a /30 of 10.213.0.0/16: this side <see cref="HostAddress"/>, the namespace <see cref="Address"/>).
/// A process started in it (<see cref="WorkerProcess.Start"/>) reaches the servers only over that link, so
/// <see cref="CutAsync"/> takes this side of the link down and the host disappears from the network the way a machine
/// does when its cable is pulled or its node dies: nothing is closed, packets just stop. The servers here listen on
/// 127.0.0.1; each one the process needs is reached through a relay on <see cref="HostAddress"/> (a TCP forwarder that
/// passes bytes and closes one side when the other closes, nothing more), except the ports a server listens on at
/// <see cref="HostAddress"/> itself (<see cref="ServeDirectly"/>), which the process reaches with no relay between.
/// Needs root and iproute2 (<see cref="Unavailable"/>).
/// </summary>
public sealed class IsolatedHost : IAsyncDisposable
{
    private static readonly string? Ip = FindIp();
    private static int _created;

    private readonly ConcurrentDictionary<int, TcpRelay> _relays = new();
    private readonly HashSet<int> _direct = [];
    private readonly string _link;

    private IsolatedHost(string name, string link, IPAddress hostAddress, IPAddress address)
    {
        Name = name;
        _link = link;
        HostAddress = hostAddress;
        Address = address;
    }

    /// <summary>The namespace's name (<c>ip netns exec {Name} …</c>).</summary>
    public string Name { get; }

    /// <summary>This side's end of the link: what the isolated host reaches the servers at.</summary>
    public IPAddress HostAddress { get; }

    /// <summary>The isolated host's address, its only one besides its own loopback.</summary>
    public IPAddress Address { get; }

    /// <summary>iproute2's <c>ip</c>, which runs a process inside a namespace (<c>ip netns exec</c>).</summary>
    internal static string IpCommand => Ip ?? throw new InvalidOperationException(Unavailable);

    /// <summary>Why isolated hosts cannot be made here (not root, no iproute2), or null when they can.</summary>
    public static string? Unavailable { get; } = FindWhyUnavailable();

    /// <summary>Makes a namespace and its link, up and addressed.</summary>
    public static async Task<IsolatedHost> CreateAsync()
    {
        if (Unavailable is { } reason)
            throw new InvalidOperationException($"isolated hosts cannot be made here: {reason}");
        // Names and subnets from the process id and a counter, so test runs side by side do not collide.
        var pid = Environment.ProcessId;
        var index = Interlocked.Increment(ref _created);
        var subnet = (pid * 16 + index) % 16384 * 4;
        var hostAddress = new IPAddress([10, 213, (byte)(subnet / 256), (byte)(subnet % 256 + 1)]);
        var address = new IPAddress([10, 213, (byte)(subnet / 256), (byte)(subnet % 256 + 2)]);
        var name = $"vqa-{pid}-{index}";
        var link = $"vqa{pid % 1_000_000}h{index}";
        var inside = $"vqa{pid % 1_000_000}n{index}";
        await IgnoreFailureAsync("netns", "del", name); // one a killed run of the same pid left
        await IgnoreFailureAsync("link", "del", link);
        var host = new IsolatedHost(name, link, hostAddress, address);
        try
        {
            await RunAsync("netns", "add", name);
            await RunAsync("link", "add", link, "type", "veth", "peer", "name", inside);
            await RunAsync("link", "set", inside, "netns", name);
            await RunAsync("addr", "add", $"{hostAddress}/30", "dev", link);
            await RunAsync("link", "set", link, "up");
            await RunAsync("netns", "exec", name, Ip!, "addr", "add", $"{address}/30", "dev", inside);
            await RunAsync("netns", "exec", name, Ip!, "link", "set", inside, "up");
            await RunAsync("netns", "exec", name, Ip!, "link", "set", "lo", "up");
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    /// <summary>A server listens on <see cref="HostAddress"/>:<paramref name="port"/> itself: no relay for that port.</summary>
    public void ServeDirectly(int port)
    {
        lock (_direct) _direct.Add(port);
    }

    /// <summary>
    /// <paramref name="value"/> (a setting) as the isolated host must see it: a URL or an Npgsql connection string that
    /// names this machine's loopback names <see cref="HostAddress"/> instead, a relay listening there for its port
    /// unless the port is served directly; any other value unchanged.
    /// </summary>
    public string Reach(string value)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Port > 0 && IsLoopback(uri.Host))
        {
            Relay(uri.Port);
            return new UriBuilder(uri) { Host = HostAddress.ToString() }.Uri.AbsoluteUri;
        }
        if (!value.Contains("Host=", StringComparison.OrdinalIgnoreCase))
            return value;
        try
        {
            var connection = new NpgsqlConnectionStringBuilder(value);
            if (connection.Host is null || !IsLoopback(connection.Host))
                return value;
            Relay(connection.Port);
            connection.Host = HostAddress.ToString();
            return connection.ConnectionString;
        }
        catch (ArgumentException)
        {
            return value; // not a connection string after all
        }
    }

    /// <summary>Takes this side of the link down: the host is cut off, its processes go on running.</summary>
    public Task CutAsync() => RunAsync("link", "set", _link, "down");

    /// <summary>Brings the link back up.</summary>
    public Task RestoreAsync() => RunAsync("link", "set", _link, "up");

    /// <summary>Closes the relays and deletes the namespace (the link goes with it).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var relay in _relays.Values)
            await relay.DisposeAsync();
        _relays.Clear();
        await IgnoreFailureAsync("netns", "del", Name);
        await IgnoreFailureAsync("link", "del", _link);
    }

    private void Relay(int port)
    {
        lock (_direct)
            if (_direct.Contains(port))
                return;
        _relays.GetOrAdd(port, p => TcpRelay.Start(new IPEndPoint(HostAddress, p), new IPEndPoint(IPAddress.Loopback, p)));
    }

    private static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static Task RunAsync(params string[] arguments) =>
        TestProcess.RunAsync(Ip!, arguments, TimeSpan.FromSeconds(30));

    private static async Task IgnoreFailureAsync(params string[] arguments)
    {
        try
        {
            await RunAsync(arguments);
        }
        catch (InvalidOperationException)
        {
            // Nothing of that name existed.
        }
    }

    private static string? FindWhyUnavailable()
    {
        if (!OperatingSystem.IsLinux())
            return "network namespaces are Linux's";
        if (Environment.UserName != "root")
            return "making network namespaces needs root";
        return Ip is null ? "iproute2's `ip` is not installed (apt-get install iproute2)" : null;
    }

    private static string? FindIp() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/sbin")
        .Select(folder => Path.Combine(folder, "ip"))
        .FirstOrDefault(File.Exists);
}

/// <summary>
/// Forwards each TCP connection accepted on one endpoint to another: bytes both ways, and when one side closes its
/// sending half, the other side's is closed too. It never closes a connection on its own, so a silent peer stays
/// silent (what a server learns of a vanished client, it learns by its own means: heartbeats, keepalives, timeouts).
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly Task _accepting;

    private TcpRelay(IPEndPoint listen, IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(listen);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public static TcpRelay Start(IPEndPoint listen, IPEndPoint target) => new(listen, target);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        foreach (var socket in _sockets.Keys)
            socket.Dispose();
        try
        {
            await _accepting;
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stopping.Token);
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var server = new Socket(_target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _sockets[client] = 0;
        _sockets[server] = 0;
        try
        {
            await server.ConnectAsync(_target, _stopping.Token);
            await Task.WhenAll(PumpAsync(client, server), PumpAsync(server, client));
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The target refused, or the relay stops.
        }
        finally
        {
            _sockets.TryRemove(client, out _);
            _sockets.TryRemove(server, out _);
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token);
                if (read == 0)
                    break;
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token);
            }
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A side reset or the relay stops: close both.
            from.Dispose();
        }
        try
        {
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
    }
}

/// <summary>
/// A test that runs processes on isolated hosts: it needs the local stack and network namespaces, and is skipped, with
/// the reason, where either is missing.
/// </summary>
public sealed class IsolatedHostFactAttribute : FactAttribute
{
    public IsolatedHostFactAttribute()
    {
        if (LocalStack.Skipped)
            Skip = LocalStack.SkipReason;
        else if (IsolatedHost.Unavailable is { } reason)
            Skip = $"isolated hosts cannot be made here: {reason}";
    }
}
