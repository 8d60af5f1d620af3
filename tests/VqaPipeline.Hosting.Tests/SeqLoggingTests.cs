using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VqaPipeline.Hosting.Tests.Support;
using Xunit.Abstractions;

namespace VqaPipeline.Hosting.Tests;

public sealed class SeqLoggingTests(ITestOutputHelper output)
{
    [StackFact]
    public async Task A_seq_that_accepts_but_never_answers_holds_up_neither_start_nor_shutdown()
    {
        using var silentSeq = new SilentServer();
        var watch = Stopwatch.StartNew();
        var service = await TestService.StartAsync(new Dictionary<string, string?>
        {
            ["VQA_RABBITMQ_URL"] = LocalStack.Get("VQA_RABBITMQ_URL"),
            ["VQA_SEQ_URL"] = silentSeq.Url.ToString(),
        });
        var started = watch.Elapsed;
        service.App.Services.GetRequiredService<ILogger<SeqLoggingTests>>()
            .LogInformation("an event for {Destination}", "the silent Seq");

        watch.Restart();
        await service.DisposeAsync();
        var stopped = watch.Elapsed;

        output.WriteLine($"start {started.TotalSeconds:F2} s, stop {stopped.TotalSeconds:F2} s");
        Assert.True(started < TimeSpan.FromSeconds(5), $"start took {started}");
        Assert.True(stopped < TimeSpan.FromSeconds(6), $"stop took {stopped}");
        Assert.Contains("POST /api/events/raw", silentSeq.Received);
        Assert.Contains("the silent Seq", silentSeq.Received);
    }

    /// <summary>Accepts connections and reads what arrives, and never answers.</summary>
    private sealed class SilentServer : IDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly StringBuilder received = new();
        private readonly List<TcpClient> clients = [];
        private readonly CancellationTokenSource stopping = new();

        public SilentServer()
        {
            listener.Start();
            _ = AcceptAsync();
        }

        public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");

        public string Received
        {
            get { lock (received) return received.ToString(); }
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var client = await listener.AcceptTcpClientAsync(stopping.Token);
                    lock (clients) clients.Add(client);
                    _ = ReadAsync(client.GetStream());
                }
            }
            catch (OperationCanceledException) { }
        }

        private async Task ReadAsync(NetworkStream stream)
        {
            var buffer = new byte[8192];
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer, stopping.Token)) > 0)
                    lock (received) received.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
            catch (Exception error) when (error is OperationCanceledException or IOException) { }
        }

        public void Dispose()
        {
            stopping.Cancel();
            listener.Stop();
            lock (clients) clients.ForEach(client => client.Dispose());
        }
    }
}
