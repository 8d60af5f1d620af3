using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion;
using VqaPipeline.Preprocessing;

namespace VqaPipeline.Pipeline.Tests.Support;

/// <summary>
/// Ingestion and preprocessing on the real servers for one test: a database of its own (<c>vqa_test_&lt;guid&gt;</c>,
/// dropped afterwards), a preprocessing queue of its own, the broker the test names. Ingestion runs in this process;
/// preprocessing in this process (<see cref="StartWorkerInProcessAsync"/>) or as a real process
/// (<see cref="StartWorkerProcessAsync"/>).
/// </summary>
public sealed class PipelineStack : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _database = $"vqa_test_{Guid.NewGuid():N}";
    private readonly List<WebApplication> _apps = [];
    private readonly List<WorkerProcess> _processes = [];

    private PipelineStack(string brokerUrl) => BrokerUrl = brokerUrl;

    public string BrokerUrl { get; }

    public string ConnectionString { get; private set; } = "";

    public string Queue { get; } = $"pipeline-tests-{Guid.NewGuid():N}";

    public HttpClient Ingestion { get; } = new() { Timeout = TimeSpan.FromSeconds(120) };

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    /// <summary>Creates the database and starts the ingestion API on it (which migrates it).</summary>
    public static async Task<PipelineStack> StartAsync(string brokerUrl)
    {
        var stack = new PipelineStack(brokerUrl);
        await ExecuteOnServerAsync($"CREATE DATABASE {stack._database}");
        stack.ConnectionString = new NpgsqlConnectionStringBuilder(LocalStack.Get("VQA_POSTGRES")) { Database = stack._database }
            .ConnectionString;
        var ingestion = IngestionService.Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(stack.Settings());
        });
        await stack.StartAppAsync(ingestion);
        stack.Ingestion.BaseAddress = new Uri(ingestion.Urls.Single());
        return stack;
    }

    /// <summary>The preprocessing worker hosted in this process.</summary>
    public async Task StartWorkerInProcessAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(Settings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Preprocessing:QueueName"] = Queue,
            ["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore"] = "Warning",
        });
        builder.AddPreprocessing();
        var app = builder.Build();
        app.MapPreprocessing();
        await StartAppAsync(app);
    }

    /// <summary>The built preprocessing service as a process of its own, configured through its environment.</summary>
    public async Task<WorkerProcess> StartWorkerProcessAsync(int prefetch)
    {
        var worker = WorkerProcess.Start(new Dictionary<string, string>
        {
            ["VQA_POSTGRES"] = ConnectionString,
            ["VQA_RABBITMQ_URL"] = BrokerUrl,
            ["VQA_RABBITMQ_PREFETCH"] = prefetch.ToString(),
            ["Preprocessing__QueueName"] = Queue,
        });
        _processes.Add(worker);
        await WaitUntilReadyAsync(worker.BaseAddress, () => worker.Log);
        return worker;
    }

    /// <summary>Polls until none of <paramref name="imageIds"/> is pending; returns them all.</summary>
    public async Task<IReadOnlyDictionary<Guid, Image>> WaitForFinalAsync(IReadOnlyCollection<Guid> imageIds)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var images = await ImagesAsync(imageIds);
            var pending = images.Values.Count(i => i.Status == ImageStatus.Pending) + imageIds.Count - images.Count;
            if (pending == 0)
                return images;
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{pending} of {imageIds.Count} images still pending after {Patience}");
            await Task.Delay(50);
        }
    }

    public async Task<Dictionary<Guid, Image>> ImagesAsync(IReadOnlyCollection<Guid> imageIds)
    {
        await using var db = NewContext();
        return await db.Images.AsNoTracking().Where(i => imageIds.Contains(i.Id)).ToDictionaryAsync(i => i.Id);
    }

    /// <summary>
    /// Waits until the outbox is empty, then checks that the event log holds, for every image, exactly one published
    /// and dispatched <see cref="ImageIngested"/>, exactly one consumed copy of it (same message id) with its inbox
    /// row, and exactly one published and dispatched outcome matching the image's final state.
    /// </summary>
    public async Task AssertEventLogCompleteAsync(IReadOnlyDictionary<Guid, Image> images)
    {
        var deadline = Stopwatch.StartNew();
        await using var db = NewContext();
        while (await db.EventLog.AnyAsync(e => e.Direction == MessageDirection.Published && e.DispatchedAt == null))
        {
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"outbox rows still undispatched after {Patience}");
            await Task.Delay(50);
        }

        var ids = images.Keys.ToList();
        var log = (await db.EventLog.AsNoTracking().Where(e => e.ImageId != null && ids.Contains(e.ImageId.Value)).ToListAsync())
            .ToLookup(e => e.ImageId!.Value);
        var inbox = (await db.InboxMessages.AsNoTracking().ToListAsync()).ToLookup(m => m.MessageId);
        foreach (var (id, image) in images)
        {
            var entries = log[id].ToList();
            var published = Assert.Single(entries, e => e.MessageType == nameof(ImageIngested) && e.Direction == MessageDirection.Published);
            var consumed = Assert.Single(entries, e => e.MessageType == nameof(ImageIngested) && e.Direction == MessageDirection.Consumed);
            Assert.Equal(published.MessageId, consumed.MessageId);
            Assert.Single(inbox[published.MessageId]);
            var outcome = image.Status == ImageStatus.Ready ? nameof(ImagePreprocessed) : nameof(ImageRejected);
            var announced = Assert.Single(entries, e => e.Direction == MessageDirection.Published && e.MessageType != nameof(ImageIngested));
            Assert.Equal((outcome, image.CollectionId), (announced.MessageType, announced.CollectionId));
            Assert.All([published, announced], e => Assert.NotNull(e.DispatchedAt));
            Assert.Equal(3, entries.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Ingestion.Dispose();
        foreach (var process in _processes)
            process.Dispose();
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        if (ConnectionString.Length == 0)
            return;
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
    }

    private Dictionary<string, string?> Settings() => new()
    {
        ["VQA_POSTGRES"] = ConnectionString,
        ["VQA_RABBITMQ_URL"] = BrokerUrl,
    };

    private async Task StartAppAsync(WebApplication app)
    {
        _apps.Add(app);
        await app.StartAsync();
        await WaitUntilReadyAsync(new Uri(app.Urls.Single()), () => "");
    }

    /// <summary>The bus binds its queues in the background after start; a message published before is lost.</summary>
    private static async Task WaitUntilReadyAsync(Uri baseAddress, Func<string> log)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(ServiceDefaults.ReadyPath);
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
                // a process not listening yet
            }
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"{baseAddress} not ready after {Patience}\n{log()}");
            await Task.Delay(100);
        }
    }

    private static async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(LocalStack.Get("VQA_POSTGRES"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
