using System.Collections.Concurrent;
using MassTransit;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.StackTesting;
using VqaPipeline.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace VqaPipeline.Ingestion.Tests.Support;

/// <summary>
/// The ingestion service behind the gateway on the local stack (a provisioned database and a RabbitMQ virtual host of
/// its own, both deleted afterwards), shared by one test class, with a consumer on a queue of its own that hears every
/// <see cref="ImageIngested"/>.
/// </summary>
public sealed class IngestionHost : IAsyncLifetime
{
    private ServiceStack? _stack;

    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack is not started");

    /// <summary>A client of the public API (the gateway).</summary>
    public HttpClient Http => Stack.Api;

    public IngestedMessages Messages { get; } = new();

    public ObjectStore Store => Stack.Store;

    public IngestionDbContext NewDatabase() => Stack.Ingestion();

    public async Task InitializeAsync()
    {
        var queue = $"ingestion-tests-{Guid.NewGuid():N}";
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "ingestion",
            InProcess = [Services.Ingestion],
            // The URL tests serve their images from 127.0.0.1.
            Settings = new Dictionary<string, string?>(CapturedLog.Settings) { ["Ingestion:AllowPrivateNetworkUrls"] = "true" },
            Configure = (_, builder) => builder.Services.AddSingleton(Messages),
            ConfigureBus = (_, bus) => bus.AddConsumer<IngestedMessages.Consumer>().Endpoint(endpoint => endpoint.Name = queue),
            Patience = TimeSpan.FromSeconds(30),
        });
    }

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }

    /// <summary>A local TCP port nothing listens on (free a moment ago).</summary>
    public static int ClosedPort() => LocalPorts.Free();
}

/// <summary>Every <see cref="ImageIngested"/> the test consumer received, by image id.</summary>
public sealed class IngestedMessages
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<ImageIngested>> _byImage = new();

    public Task<ImageIngested> For(Guid imageId) => Slot(imageId).Task.WaitAsync(TimeSpan.FromSeconds(30));

    private TaskCompletionSource<ImageIngested> Slot(Guid imageId) =>
        _byImage.GetOrAdd(imageId, _ => new TaskCompletionSource<ImageIngested>(TaskCreationOptions.RunContinuationsAsynchronously));

    public sealed class Consumer(IngestedMessages messages) : IConsumer<ImageIngested>
    {
        public Task Consume(ConsumeContext<ImageIngested> context)
        {
            messages.Slot(context.Message.ImageId).TrySetResult(context.Message);
            return Task.CompletedTask;
        }
    }
}
