using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
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
    private readonly ScratchDatabase _database = new();
    private readonly InProcessServices _services = new(Patience);
    private readonly List<WorkerProcess> _processes = [];

    private PipelineStack(string brokerUrl) => BrokerUrl = brokerUrl;

    public string BrokerUrl { get; }

    public string ConnectionString => _database.ConnectionString;

    public string Queue { get; } = $"pipeline-tests-{Guid.NewGuid():N}";

    public HttpClient Ingestion { get; } = new() { Timeout = TimeSpan.FromSeconds(120) };

    public VqaDbContext NewContext() => new(VqaDbContext.OptionsFor(ConnectionString));

    /// <summary>Creates the database and starts the ingestion API on it (which migrates it).</summary>
    public static async Task<PipelineStack> StartAsync(string brokerUrl)
    {
        var stack = new PipelineStack(brokerUrl);
        await stack._database.InitializeAsync();
        stack.Ingestion.BaseAddress = await stack._services.StartAsync(
            IngestionService.Build([], builder => InProcessServices.Configure(builder, stack.Settings())));
        return stack;
    }

    /// <summary>The preprocessing worker hosted in this process.</summary>
    public async Task StartWorkerInProcessAsync()
    {
        var builder = InProcessServices.NewBuilder(new Dictionary<string, string?>(Settings())
        {
            ["Preprocessing:QueueName"] = Queue,
            ["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore"] = "Warning",
        });
        builder.AddPreprocessing();
        await _services.StartAsync(builder.Build().MapPreprocessing());
    }

    /// <summary>The built preprocessing service as a process of its own, configured through its environment.</summary>
    public async Task<WorkerProcess> StartWorkerProcessAsync(int prefetch)
    {
        var worker = WorkerProcess.Start(WorkerProcess.BuiltServiceDll("VqaPipeline.Preprocessing"),
            new Dictionary<string, string?>(Settings())
            {
                ["VQA_RABBITMQ_PREFETCH"] = prefetch.ToString(),
                ["Preprocessing:QueueName"] = Queue,
            });
        _processes.Add(worker);
        await worker.WaitUntilReadyAsync(Patience);
        return worker;
    }

    /// <summary>Polls until none of <paramref name="imageIds"/> is pending; returns them all.</summary>
    public Task<Dictionary<Guid, Image>> WaitForFinalAsync(IReadOnlyCollection<Guid> imageIds) =>
        Poll.UntilAsync(() => ImagesAsync(imageIds), images => Pending(images, imageIds) == 0, Patience,
            images => $"{Pending(images, imageIds)} of {imageIds.Count} images still pending", TimeSpan.FromMilliseconds(50));

    private static int Pending(Dictionary<Guid, Image> images, IReadOnlyCollection<Guid> imageIds) =>
        images.Values.Count(i => i.Status == ImageStatus.Pending) + imageIds.Count - images.Count;

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
        await using var db = NewContext();
        await Poll.UntilAsync(async () => !await db.EventLog.AnyAsync(e => e.Direction == MessageDirection.Published && e.DispatchedAt == null),
            Patience, "outbox rows still undispatched", TimeSpan.FromMilliseconds(50));

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
            await process.DisposeAsync();
        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }

    private Dictionary<string, string?> Settings() => new()
    {
        ["VQA_POSTGRES"] = ConnectionString,
        ["VQA_RABBITMQ_URL"] = BrokerUrl,
    };
}
