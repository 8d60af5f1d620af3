using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
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
    private readonly string _database = $"vqa_test_{Guid.NewGuid():N}";
    private WebApplication? _app;
    private RabbitMqVirtualHost? _virtualHost;

    public string ConnectionString { get; private set; } = "";

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public IngestedMessages Messages { get; } = new();

    public ObjectStore Store { get; private set; } = null!;

    public VqaDbContext NewDatabase() => new(VqaDbContext.OptionsFor(ConnectionString));

    public async Task InitializeAsync()
    {
        if (LocalStack.Missing.Count > 0 && !LocalStack.Required)
            return; // every test of the class is skipped: see StackFactAttribute
        await ExecuteOnServerAsync($"CREATE DATABASE {_database}");
        ConnectionString = new NpgsqlConnectionStringBuilder(LocalStack.Get("VQA_POSTGRES")) { Database = _database }
            .ConnectionString;
        var queue = $"ingestion-tests-{Guid.NewGuid():N}";
        _virtualHost = await RabbitMqVirtualHost.CreateAsync("ingestion");
        _app = IngestionService.Build([],
            builder =>
            {
                builder.WebHost.UseUrls("http://127.0.0.1:0");
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["VQA_POSTGRES"] = ConnectionString,
                    ["VQA_RABBITMQ_URL"] = _virtualHost.Url,
                    // The URL tests serve their images from 127.0.0.1.
                    ["Ingestion:AllowPrivateNetworkUrls"] = "true",
                });
                builder.Services.AddSingleton(Messages);
            },
            bus => bus.AddConsumer<IngestedMessages.Consumer>().Endpoint(endpoint => endpoint.Name = queue));
        await _app.StartAsync();
        Http.BaseAddress = new Uri(_app.Urls.Single());
        Store = new ObjectStore(ObjectStoreOptions.FromEnvironment());
        await WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Store?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        if (ConnectionString.Length == 0)
            return;
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
    }

    private static async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(LocalStack.Get("VQA_POSTGRES"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The bus binds its queues in the background after start; a message published before is lost.</summary>
    private async Task WaitUntilReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var response = await Http.GetAsync(ServiceDefaults.ReadyPath);
            if (response.StatusCode == HttpStatusCode.OK)
                return;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{ServiceDefaults.ReadyPath} still {(int)response.StatusCode} after {Patience}");
            await Task.Delay(100);
        }
    }

    /// <summary>A local TCP port nothing listens on (free a moment ago).</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
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
