using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace VqaPipeline.Hosting.Health;

/// <summary>The broker is reachable when it answers the AMQP 0-9-1 protocol header with a frame.</summary>
public sealed class BrokerHealthCheck(IOptions<BrokerOptions> options) : IHealthCheck
{
    private static readonly byte[] ProtocolHeader = "AMQP\0\0\u0009\u0001"u8.ToArray();

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var url = options.Value.Url;
        var port = url.IsDefaultPort || url.Port < 0 ? 5672 : url.Port;
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(url.Host, port, cancellationToken);
            var stream = client.GetStream();
            await stream.WriteAsync(ProtocolHeader, cancellationToken);
            var reply = new byte[1];
            var read = await stream.ReadAsync(reply, cancellationToken);
            // Connection.Start arrives as a method frame (type 1); anything else is not an AMQP 0-9-1 broker.
            return read == 1 && reply[0] == 1
                ? HealthCheckResult.Healthy($"{url.Host}:{port} speaks AMQP 0-9-1")
                : HealthCheckResult.Unhealthy($"{url.Host}:{port} did not answer the AMQP protocol header");
        }
        catch (Exception error) when (error is SocketException or IOException)
        {
            return HealthCheckResult.Unhealthy($"broker {url.Host}:{port} unreachable: {error.Message}", error);
        }
    }
}
