using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Messaging;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Pipeline.Tests.Support;

/// <summary>
/// Ingestion (behind the gateway) and preprocessing on the real servers for one test, on the broker the test names.
/// Preprocessing runs in this process (<see cref="StartWorkerInProcessAsync"/>) or as a real process
/// (<see cref="StartWorkerProcessAsync"/>).
/// </summary>
public sealed class PipelineStack : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly ServiceStack _stack;

    private PipelineStack(ServiceStack stack) => _stack = stack;

    /// <summary>A client of the public API (the gateway).</summary>
    public HttpClient Ingestion => _stack.Api;

    public IngestionDbContext NewContext() => _stack.Ingestion();

    /// <summary>Creates the database and starts the ingestion API on it (which migrates its schema).</summary>
    public static async Task<PipelineStack> StartAsync(string brokerUrl) =>
        new(await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "pipeline", BrokerUrl = brokerUrl, InProcess = [Services.Ingestion], Patience = Patience,
        }));

    /// <summary>The preprocessing worker hosted in this process.</summary>
    public Task StartWorkerInProcessAsync() => _stack.StartServiceAsync(Services.Preprocessing);

    /// <summary>The built preprocessing service as a process of its own, configured through its environment.</summary>
    public Task<WorkerProcess> StartWorkerProcessAsync(int prefetch) =>
        _stack.StartProcessAsync(Services.Preprocessing, new Dictionary<string, string?> { ["VQA_RABBITMQ_PREFETCH"] = prefetch.ToString() });

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
    /// Waits until both outboxes are empty, then checks each service's event log for every image: ingestion published
    /// one <see cref="ImageIngested"/> (dispatched) and consumed one outcome; preprocessing consumed that very message
    /// once (with its inbox row) and published one outcome (dispatched) that matches the image's final state.
    /// </summary>
    public async Task AssertEventLogCompleteAsync(IReadOnlyDictionary<Guid, Image> images)
    {
        await using var ingestion = _stack.Ingestion();
        await using var preprocessing = _stack.Preprocessing();
        await Poll.UntilAsync(async () => !await Undispatched(ingestion).AnyAsync() && !await Undispatched(preprocessing).AnyAsync(),
            Patience, "outbox rows still undispatched", TimeSpan.FromMilliseconds(50));
        await Poll.UntilAsync(async () => await ingestion.EventLog.CountAsync(e => e.Direction == MessageDirection.Consumed
                                                                                  && images.Keys.Contains(e.ImageId!.Value)) == images.Count,
            Patience, "outcomes not all recorded by ingestion", TimeSpan.FromMilliseconds(50));

        var ids = images.Keys.ToList();
        var ingestionLog = await LogAsync(ingestion, ids);
        var preprocessingLog = await LogAsync(preprocessing, ids);
        var inbox = (await preprocessing.InboxMessages.AsNoTracking().ToListAsync()).ToLookup(m => m.MessageId);
        foreach (var (id, image) in images)
        {
            var outcome = image.Status == ImageStatus.Ready ? nameof(ImagePreprocessed) : nameof(ImageRejected);
            var published = Assert.Single(ingestionLog[id], e => e.Direction == MessageDirection.Published);
            Assert.Equal(nameof(ImageIngested), published.MessageType);
            var recorded = Assert.Single(ingestionLog[id], e => e.Direction == MessageDirection.Consumed);
            Assert.Equal(outcome, recorded.MessageType);

            var consumed = Assert.Single(preprocessingLog[id], e => e.Direction == MessageDirection.Consumed);
            Assert.Equal((nameof(ImageIngested), published.MessageId), (consumed.MessageType, consumed.MessageId));
            Assert.Single(inbox[published.MessageId]);
            var announced = Assert.Single(preprocessingLog[id], e => e.Direction == MessageDirection.Published);
            Assert.Equal((outcome, image.CollectionId, recorded.MessageId), (announced.MessageType, announced.CollectionId, announced.MessageId));
            Assert.All([published, announced], e => Assert.NotNull(e.DispatchedAt));
        }
    }

    private static IQueryable<EventLogEntry> Undispatched(MessagingDbContext db) =>
        db.EventLog.Where(e => e.Direction == MessageDirection.Published && e.DispatchedAt == null);

    private static async Task<ILookup<Guid, EventLogEntry>> LogAsync(MessagingDbContext db, List<Guid> ids) =>
        (await db.EventLog.AsNoTracking().Where(e => e.ImageId != null && ids.Contains(e.ImageId.Value)).ToListAsync())
        .ToLookup(e => e.ImageId!.Value);

    public ValueTask DisposeAsync() => _stack.DisposeAsync();
}
