using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VqaPipeline.Training.Tests.Support;

/// <summary>
/// A TCP relay in front of the real object store that cuts the connection of the next few uploads (HTTP <c>PUT</c>
/// requests): the fault an object store restarting in the middle of an upload causes, without stopping the shared one.
/// </summary>
public sealed class FaultyStorageProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private int _putsToCut;
    private int _cut;
    private long _holdTicks;
    private int _holding;

    public FaultyStorageProxy(Uri target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The relay's address, to give a service as its object store endpoint.</summary>
    public Uri Endpoint => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>How many uploads were cut so far.</summary>
    public int Cut => Volatile.Read(ref _cut);

    /// <summary>Whether an upload is being held back now.</summary>
    public bool Holding => Volatile.Read(ref _holding) > 0;

    /// <summary>
    /// Holds the next PUT request back for <paramref name="delay"/> before passing it on: a slow upload. Keep it under
    /// the store's idle timeout (s3rver, on Node, closes a kept-alive connection idle for 5 s).
    /// </summary>
    public void HoldNextUpload(TimeSpan delay) => Interlocked.Exchange(ref _holdTicks, delay.Ticks);

    /// <summary>Cuts the connection of each of the next <paramref name="uploads"/> PUT requests.</summary>
    public void CutNextUploads(int uploads) => Volatile.Write(ref _putsToCut, uploads);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
                _ = RelayAsync(await _listener.AcceptTcpClientAsync(_stopping.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(_target.Host, _target.Port, _stopping.Token);
            using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            var upstream = PumpAsync(client.GetStream(), server.GetStream(), inspect: true, cut);
            var downstream = PumpAsync(server.GetStream(), client.GetStream(), inspect: false, cut);
            await Task.WhenAny(upstream, downstream);
            await cut.CancelAsync();
        }
        catch (Exception exception) when (exception is IOException or SocketException or OperationCanceledException)
        {
        }
    }

    private async Task PumpAsync(Stream from, Stream to, bool inspect, CancellationTokenSource cut)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, cut.Token)) > 0)
            {
                // A request on a kept-alive connection starts a fresh write: its first bytes are the method.
                var put = inspect && read >= 4 && Encoding.ASCII.GetString(buffer, 0, 4) == "PUT ";
                if (put && TakeCut())
                {
                    await cut.CancelAsync();
                    return;
                }
                if (put && Interlocked.Exchange(ref _holdTicks, 0) is > 0 and var hold)
                {
                    Interlocked.Increment(ref _holding);
                    try
                    {
                        await Task.Delay(TimeSpan.FromTicks(hold), cut.Token);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _holding);
                    }
                }
                await to.WriteAsync(buffer.AsMemory(0, read), cut.Token);
            }
        }
        catch (Exception exception) when (exception is IOException or SocketException or OperationCanceledException)
        {
        }
    }

    private bool TakeCut()
    {
        while (true)
        {
            var left = Volatile.Read(ref _putsToCut);
            if (left == 0)
                return false;
            if (Interlocked.CompareExchange(ref _putsToCut, left - 1, left) == left)
            {
                Interlocked.Increment(ref _cut);
                return true;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stopping.Dispose();
    }
}
