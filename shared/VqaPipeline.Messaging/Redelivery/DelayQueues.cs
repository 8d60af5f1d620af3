using System.Collections.Concurrent;
using System.Globalization;
using MassTransit;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client;

namespace VqaPipeline.Messaging.Redelivery;

/// <summary>
/// Keeps messages in the broker for a while and then hands them back to their queue. Each (queue, delay) has a queue
/// of its own, <c>{queue}_delay_{ms}ms</c>, whose messages expire after the delay (<c>x-message-ttl</c>) and are then
/// dead-lettered through the default exchange straight back to <c>{queue}</c>. One queue per delay, never per-message
/// expiry in a shared queue: RabbitMQ expires only the message at a queue's head, so a long delay would hold up the
/// short ones behind it. RabbitMQ 3.10 as Debian ships it needs no plugin for this.
/// </summary>
public sealed class DelayQueues(Uri brokerUrl) : IAsyncDisposable
{
    /// <summary>The header that counts a message's deliveries (1 for the first; absent means 1).</summary>
    public const string DeliveryHeader = "vqa-delivery";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, bool> _declared = new();
    private IConnection? _connection;
    private IChannel? _channel;

    /// <summary>The delay queue of <paramref name="queue"/> for <paramref name="delay"/>.</summary>
    public static string NameOf(string queue, TimeSpan delay) =>
        string.Create(CultureInfo.InvariantCulture, $"{queue}_delay_{(long)delay.TotalMilliseconds}ms");

    /// <summary>The delivery number of the message <paramref name="context"/> holds (1 for its first).</summary>
    public static int DeliveryOf(ConsumeContext context) =>
        context.ReceiveContext.TransportHeaders.Get<int>(DeliveryHeader, 1) ?? 1;

    /// <summary>
    /// Puts the message <paramref name="context"/> received, as received (body and properties), in the delay queue of
    /// its queue for <paramref name="delay"/>, numbered delivery <paramref name="nextDelivery"/>; returns once the
    /// broker has confirmed it, so acknowledging the original afterwards loses nothing.
    /// </summary>
    public async Task DelayAsync(ConsumeContext context, string queue, TimeSpan delay, int nextDelivery, CancellationToken cancellationToken)
    {
        var delayQueue = NameOf(queue, delay);
        var properties = new BasicProperties { Persistent = true, Headers = new Dictionary<string, object?>() };
        if (context.ReceiveContext.TryGetPayload<RabbitMqBasicConsumeContext>(out var received))
        {
            var original = received.Properties;
            properties.ContentType = original.ContentType;
            properties.ContentEncoding = original.ContentEncoding;
            properties.MessageId = original.MessageId;
            properties.CorrelationId = original.CorrelationId;
            properties.Type = original.Type;
            // The broker's own headers (x-death, x-first-death-…) would only grow with every round.
            foreach (var (name, value) in original.Headers ?? new Dictionary<string, object?>())
                if (!name.StartsWith("x-", StringComparison.Ordinal))
                    properties.Headers[name] = value;
        }
        else
            properties.ContentType = context.ReceiveContext.ContentType?.ToString();
        properties.Headers[DeliveryHeader] = nextDelivery;
        var body = context.ReceiveContext.Body.GetBytes();

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var channel = await ChannelAsync(cancellationToken);
            if (!_declared.ContainsKey(delayQueue))
            {
                await channel.QueueDeclareAsync(delayQueue, durable: true, exclusive: false, autoDelete: false,
                    arguments: new Dictionary<string, object?>
                    {
                        ["x-message-ttl"] = (long)delay.TotalMilliseconds,
                        ["x-dead-letter-exchange"] = "",
                        ["x-dead-letter-routing-key"] = queue,
                    }, cancellationToken: cancellationToken);
                _declared[delayQueue] = true;
            }
            await channel.BasicPublishAsync("", delayQueue, mandatory: true, properties, body, cancellationToken);
        }
        catch
        {
            // A channel the broker closed (or a refused declaration) is opened afresh on the next call.
            await CloseAsync();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open)
            return open;
        await CloseAsync();
        var factory = new ConnectionFactory { Uri = brokerUrl, ClientProvidedName = "vqa-redelivery" };
        _connection = await factory.CreateConnectionAsync(cancellationToken);
        _channel = await _connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken);
        return _channel;
    }

    private async Task CloseAsync()
    {
        _declared.Clear();
        if (_channel is not null)
            await _channel.DisposeAsync();
        if (_connection is not null)
            await _connection.DisposeAsync();
        (_channel, _connection) = (null, null);
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        _gate.Dispose();
    }
}
