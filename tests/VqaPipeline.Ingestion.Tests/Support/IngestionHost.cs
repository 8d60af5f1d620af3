using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Storage;

namespace VqaPipeline.Ingestion.Tests.Support;

/// <summary>
/// The ingestion service hosted in-process on 127.0.0.1 with a free port against the local stack, with a database
/// (<c>vqa_test_&lt;guid&gt;</c>) and a RabbitMQ virtual host of its own, both deleted afterwards, shared by one test class, with a consumer on a queue of
/// its own that hears every <see cref="ImageIngested"/>.
/// </summary>
public sealed class IngestionHost : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly ScratchDatabase _database = new();
    private readonly InProcessServices _services = new(Patience);
    private RabbitMqVirtualHost? _virtualHost;

    public string ConnectionString => _database.ConnectionString;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public IngestedMessages Messages { get; } = new();

    public ObjectStore Store { get; private set; } = null!;

    public VqaDbContext NewDatabase() => new(VqaDbContext.OptionsFor(ConnectionString));

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        if (LocalStack.Skipped)
            return; // every test of the class is skipped: see StackFactAttribute
        var queue = $"ingestion-tests-{Guid.NewGuid():N}";
        _virtualHost = await RabbitMqVirtualHost.CreateAsync("ingestion");
        var settings = new Dictionary<string, string?>
        {
            ["VQA_POSTGRES"] = ConnectionString,
            ["VQA_RABBITMQ_URL"] = _virtualHost.Url,
            // The URL tests serve their images from 127.0.0.1.
            ["Ingestion:AllowPrivateNetworkUrls"] = "true",
        };
        var app = IngestionService.Build([],
            builder =>
            {
                InProcessServices.Configure(builder, settings);
                builder.Services.AddSingleton(Messages);
            },
            bus => bus.AddConsumer<IngestedMessages.Consumer>().Endpoint(endpoint => endpoint.Name = queue));
        Http.BaseAddress = await _services.StartAsync(app);
        Store = new ObjectStore(ObjectStoreOptions.FromEnvironment());
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Store?.Dispose();
        await _services.DisposeAsync();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        await _database.DisposeAsync();
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
