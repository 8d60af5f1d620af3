using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using VqaPipeline.Hosting.Tests.Support;
using VqaPipeline.Messaging.Redelivery;

namespace VqaPipeline.Hosting.Tests.Messaging;

public sealed class RedeliveryTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(3);

    [StackFact]
    public async Task A_consumer_failing_with_a_transient_fault_past_its_immediate_retries_gets_the_message_back_after_the_delay()
    {
        const int retryLimit = 2;
        var queue = TestService.UniqueName("hosting-flaky");
        var outage = new Outage(failingAttempts: 2 * (retryLimit + 1)); // two whole deliveries fail
        await using var service = await StartAsync(queue, retryLimit, outage);
        var message = new FlakyMessage(Guid.NewGuid());
        var stopwatch = Stopwatch.StartNew();

        await service.App.Services.GetRequiredService<IPublishEndpoint>().Publish(message);

        var handled = await outage.Handled.Task.WaitAsync(Patience);
        Assert.Equal(message, handled.Message);
        Assert.Equal(3, handled.Delivery);
        Assert.Equal(2 * (retryLimit + 1) + 1, outage.Attempts);
        // Two waits in the broker, of the first interval and then the second.
        Assert.True(stopwatch.Elapsed >= Delay + 2 * Delay, $"handled after {stopwatch.Elapsed}");
        Assert.Equal(0u, await MessageCountAsync($"{queue}_error"));
        Assert.Equal(0u, await MessageCountAsync(DelayQueues.NameOf(queue, Delay)));
    }

    [StackFact]
    public async Task A_message_outside_the_contract_that_keeps_failing_transiently_lands_in_the_error_queue_at_the_delivery_limit()
    {
        const int retryLimit = 1;
        var queue = TestService.UniqueName("hosting-down");
        var outage = new Outage(failingAttempts: int.MaxValue);
        await using var service = await StartAsync(queue, retryLimit, outage, deliveryLimit: 2);

        await service.App.Services.GetRequiredService<IPublishEndpoint>().Publish(new FlakyMessage(Guid.NewGuid()));

        var deadline = Stopwatch.StartNew();
        while (await MessageCountAsync($"{queue}_error") == 0 && deadline.Elapsed < Patience)
            await Task.Delay(200);
        Assert.Equal(1u, await MessageCountAsync($"{queue}_error"));
        Assert.Equal(2 * (retryLimit + 1), outage.Attempts);
    }

    private static async Task<TestService> StartAsync(string queue, int retryLimit, Outage outage, int deliveryLimit = 5)
    {
        var service = await TestService.StartAsync(
            new Dictionary<string, string?>
            {
                ["VQA_RABBITMQ_URL"] = LocalStack.Get("VQA_RABBITMQ_URL"),
                ["Broker:RetryLimit"] = retryLimit.ToString(),
                ["Broker:RetryMinInterval"] = "00:00:00.020",
                ["Broker:RetryMaxInterval"] = "00:00:00.050",
                ["Broker:RedeliveryIntervals"] = $"{Delay},{Delay + Delay}",
                ["Broker:DeliveryLimit"] = deliveryLimit.ToString(),
            },
            bus => bus.AddConsumer<FlakyConsumer>().Endpoint(endpoint => endpoint.Name = queue),
            services => services.AddSingleton(outage));
        // Published before the bus has bound the queue, a message would go nowhere.
        (await service.WaitUntilReadyAsync(Patience)).Dispose();
        return service;
    }

    /// <summary>Messages in <paramref name="queue"/>; 0 when the broker has no such queue.</summary>
    private static async Task<uint> MessageCountAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = new Uri(LocalStack.Get("VQA_RABBITMQ_URL")!) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException)
        {
            return 0;
        }
    }

    public sealed record FlakyMessage(Guid Id);

    /// <summary>A dependency that is away for the first <c>failingAttempts</c> consumes.</summary>
    public sealed class Outage(int failingAttempts)
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public TaskCompletionSource<(FlakyMessage Message, int Delivery)> Handled { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Consume(ConsumeContext<FlakyMessage> context)
        {
            if (Interlocked.Increment(ref _attempts) <= failingAttempts)
                throw new TimeoutException("the database did not answer in time");
            Handled.TrySetResult((context.Message, DelayQueues.DeliveryOf(context)));
        }
    }

    public sealed class FlakyConsumer(Outage outage) : IConsumer<FlakyMessage>
    {
        public Task Consume(ConsumeContext<FlakyMessage> context)
        {
            outage.Consume(context);
            return Task.CompletedTask;
        }
    }
}
