using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Hosting.Tests.Support;

namespace VqaPipeline.Hosting.Tests.Messaging;

public sealed class BusTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [StackFact]
    public async Task A_published_message_reaches_its_consumer_through_rabbitmq()
    {
        var queue = TestService.UniqueName("hosting-ping");
        var inbox = new Inbox<PingMessage>();
        await using var service = await TestService.StartAsync(
            new Dictionary<string, string?> { ["VQA_RABBITMQ_URL"] = LocalStack.Get("VQA_RABBITMQ_URL") },
            bus => bus.AddConsumer<PingConsumer>().Endpoint(endpoint => endpoint.Name = queue),
            services => services.AddSingleton(inbox));
        (await service.WaitUntilReadyAsync(Patience)).Dispose();
        var sent = new PingMessage(Guid.NewGuid(), "is anyone there?");

        await service.App.Services.GetRequiredService<IPublishEndpoint>().Publish(sent);

        var received = await inbox.Next.WaitAsync(Patience);
        Assert.Equal(sent, received.Message);
        Assert.Equal(queue, received.Queue);
    }

    [StackFact]
    public async Task A_consumer_that_keeps_failing_is_retried_then_its_message_lands_in_the_error_queue_with_the_exception()
    {
        const int retryLimit = 2;
        var queue = TestService.UniqueName("hosting-doomed");
        var attempts = new ConcurrentDictionary<Guid, int>();
        var errorQueue = new Inbox<DoomedMessage>();
        await using var service = await TestService.StartAsync(
            new Dictionary<string, string?>
            {
                ["VQA_RABBITMQ_URL"] = LocalStack.Get("VQA_RABBITMQ_URL"),
                ["Broker:RetryLimit"] = retryLimit.ToString(),
                ["Broker:RetryMinInterval"] = "00:00:00.050",
                ["Broker:RetryMaxInterval"] = "00:00:00.200",
            },
            bus =>
            {
                bus.AddConsumer<DoomedConsumer>().Endpoint(endpoint => endpoint.Name = queue);
                // Reads what MassTransit moved to the error queue; it must not bind to the message's exchange itself.
                bus.AddConsumer<ErrorQueueReader>().Endpoint(endpoint =>
                {
                    endpoint.Name = $"{queue}_error";
                    endpoint.ConfigureConsumeTopology = false;
                });
            },
            services => services.AddSingleton(attempts).AddSingleton(errorQueue));
        (await service.WaitUntilReadyAsync(Patience)).Dispose();
        var doomed = new DoomedMessage(Guid.NewGuid());

        await service.App.Services.GetRequiredService<IPublishEndpoint>().Publish(doomed);

        var dead = await errorQueue.Next.WaitAsync(Patience);
        Assert.Equal(doomed, dead.Message);
        Assert.Equal(retryLimit + 1, attempts[doomed.Id]);
        Assert.Equal(typeof(InvalidOperationException).FullName, dead.Headers["MT-Fault-ExceptionType"]);
        Assert.Equal(DoomedConsumer.Failure(doomed), dead.Headers["MT-Fault-Message"]);
    }

    public sealed record Delivery<T>(T Message, string Queue, IReadOnlyDictionary<string, string?> Headers);

    /// <summary>Hands each consumed message to the test.</summary>
    public sealed class Inbox<T> where T : class
    {
        private readonly TaskCompletionSource<Delivery<T>> first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Delivery<T>> Next => first.Task;

        public void Add(ConsumeContext<T> context) => first.TrySetResult(new Delivery<T>(
            context.Message,
            context.ReceiveContext.InputAddress.AbsolutePath.Trim('/'),
            context.ReceiveContext.TransportHeaders.GetAll().ToDictionary(header => header.Key, header => header.Value?.ToString())));
    }

    public sealed class PingConsumer(Inbox<PingMessage> inbox) : IConsumer<PingMessage>
    {
        public Task Consume(ConsumeContext<PingMessage> context)
        {
            inbox.Add(context);
            return Task.CompletedTask;
        }
    }

    public sealed class DoomedConsumer(ConcurrentDictionary<Guid, int> attempts) : IConsumer<DoomedMessage>
    {
        public static string Failure(DoomedMessage message) => $"{message.Id} cannot be handled";

        public Task Consume(ConsumeContext<DoomedMessage> context)
        {
            attempts.AddOrUpdate(context.Message.Id, 1, (_, count) => count + 1);
            throw new InvalidOperationException(Failure(context.Message));
        }
    }

    public sealed class ErrorQueueReader(Inbox<DoomedMessage> inbox) : IConsumer<DoomedMessage>
    {
        public Task Consume(ConsumeContext<DoomedMessage> context)
        {
            inbox.Add(context);
            return Task.CompletedTask;
        }
    }
}
