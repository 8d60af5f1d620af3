using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Storage;
using VqaPipeline.Hosting;

namespace VqaPipeline.Ingestion;

/// <summary>Settings of bucket imports (configuration section <c>Imports</c>).</summary>
public sealed record ImportOptions
{
    public const string Section = "Imports";

    /// <summary>Keys per listing request (1–1000, S3's largest page).</summary>
    public int PageSize { get; set; } = 1000;

    /// <summary>
    /// Objects read from the store ahead of the one being registered (1 reads one at a time): registration is in key
    /// order, one transaction per object, but reads overlap it. At most this many objects are in memory at once.
    /// </summary>
    public int ReadAhead { get; set; } = 8;

    /// <summary>
    /// How often the worker looks for running imports nobody works on (one whose service stopped on another replica);
    /// a new import on this replica starts at once.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Wakes the import worker when an import was created; several calls before it wakes count as one.</summary>
internal sealed class ImportSignal
{
    private readonly SemaphoreSlim _pending = new(0, 1);

    public void Notify()
    {
        lock (_pending)
        {
            if (_pending.CurrentCount == 0)
                _pending.Release();
        }
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _pending.WaitAsync(timeout, cancellationToken);
}

/// <summary>
/// Runs bucket imports in the background: lists the bucket page by page in key order (each page after the last key
/// of the one before) and gives each object the outcome an upload of it would have (through
/// <see cref="ImageIngestor"/>), committing the object's image, its message and the import's progress together. At start, and at every poll, it takes up the running imports, going on
/// after the last key handled. A PostgreSQL advisory lock per import keeps two replicas off the same import; the lock
/// goes with the connection when a replica dies.
/// </summary>
internal sealed class BucketImportWorker(
    IServiceScopeFactory scopes, ImportSignal signal, ImportOptions options, IngestionOptions limits, TimeProvider clock,
    ILogger<BucketImportWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                try
                {
                    await RunRunningImportsAsync(stoppingToken);
                }
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                {
                    // The database or the store went away for a moment: the import stays running and is taken up again.
                    logger.LogError(exception, "Bucket imports stopped on an error; retrying in {Interval}", options.PollInterval);
                }
                await signal.WaitAsync(options.PollInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The service stops; running imports go on where they are when it starts again.
        }
    }

    private async Task RunRunningImportsAsync(CancellationToken cancellationToken)
    {
        List<Guid> running;
        await using (var scope = scopes.CreateAsyncScope())
        {
            running = await scope.ServiceProvider.GetRequiredService<IngestionDbContext>().Imports.AsNoTracking()
                .Where(i => i.State == ImportState.Running)
                .OrderBy(i => i.CreatedAt)
                .Select(i => i.Id)
                .ToListAsync(cancellationToken);
        }
        foreach (var importId in running)
            await RunAsync(importId, cancellationToken);
    }

    private async Task RunAsync(Guid importId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var database = scope.ServiceProvider.GetRequiredService<IngestionDbContext>();
        var ingestor = scope.ServiceProvider.GetRequiredService<ImageIngestor>();
        var store = scope.ServiceProvider.GetRequiredService<ObjectStore>();
        // Held for the whole run: the lock lives in this connection's session.
        await database.Database.OpenConnectionAsync(cancellationToken);
        if (!await LockAsync(database, importId, "pg_try_advisory_lock", cancellationToken))
            return;
        try
        {
            var import = await database.Imports.AsNoTracking().SingleAsync(i => i.Id == importId, cancellationToken);
            if (import.State != ImportState.Running)
                return;
            logger.LogInformation("Bucket import {ImportId} of s3://{Bucket}/{Prefix} runs after key {LastKey}",
                importId, LogText.Sanitize(import.Bucket), LogText.Sanitize(import.Prefix), LogText.Sanitize(import.LastKey) ?? "(none)");
            var objects = new ImportedObjects(database, ingestor, store, import, limits, clock);
            var startAfter = import.LastKey;
            do
            {
                ObjectListPage page;
                try
                {
                    page = await store.ListPageAsync(import.Bucket, import.Prefix, startAfter, options.PageSize, cancellationToken);
                }
                catch (BucketUnavailableException unavailable)
                {
                    await EndAsync(database, importId, ImportState.Failed, unavailable.Message, cancellationToken);
                    return;
                }
                await objects.ImportAsync(page.Objects, Math.Max(1, options.ReadAhead), cancellationToken);
                startAfter = page.NextStartAfter;
            }
            while (startAfter is not null);
            await EndAsync(database, importId, ImportState.Completed, null, cancellationToken);
        }
        finally
        {
            try
            {
                await LockAsync(database, importId, "pg_advisory_unlock", CancellationToken.None);
            }
            catch (DbException exception)
            {
                // A broken connection took the lock with it.
                logger.LogDebug(exception, "Unlocking bucket import {ImportId} failed", importId);
            }
            await database.Database.CloseConnectionAsync();
        }
    }

    private async Task EndAsync(
        IngestionDbContext database, Guid importId, ImportState state, string? reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await database.Imports.Where(i => i.Id == importId).ExecuteUpdateAsync(set => set
            .SetProperty(i => i.State, state)
            .SetProperty(i => i.FailureReason, reason)
            .SetProperty(i => i.UpdatedAt, now), cancellationToken);
        logger.LogInformation("Bucket import {ImportId} {State}{Reason}", importId, state, reason is null ? "" : $": {LogText.Sanitize(reason)}");
    }

    /// <summary>Calls <paramref name="function"/> (try-lock or unlock) on the import's advisory lock key.</summary>
    private static async Task<bool> LockAsync(
        IngestionDbContext database, Guid importId, string function, CancellationToken cancellationToken)
    {
        await using var command = database.Database.GetDbConnection().CreateCommand();
        command.CommandText = $"SELECT {function}(hashtext('bucket-import'), hashtext(@id))";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "id";
        parameter.Value = importId.ToString();
        command.Parameters.Add(parameter);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }
}

/// <summary>One import's objects, each read (some ahead), then given to the ingestor and counted in one transaction.</summary>
internal sealed class ImportedObjects(
    IngestionDbContext database, ImageIngestor ingestor, ObjectStore store, BucketImport import, IngestionOptions limits,
    TimeProvider clock)
{
    // The system's own bucket is read where it is; any other is copied in, since the other services read originals
    // from the system's bucket only.
    private readonly bool _inPlace = import.Bucket == store.Bucket;

    /// <summary>Imports <paramref name="items"/> in their order, reading up to <paramref name="readAhead"/> of them ahead.</summary>
    public async Task ImportAsync(IReadOnlyList<StoredObject> items, int readAhead, CancellationToken cancellationToken)
    {
        var reads = new Queue<Task<ObjectRead>>();
        var next = 0;
        while (next < items.Count || reads.Count > 0)
        {
            while (reads.Count < readAhead && next < items.Count)
                reads.Enqueue(ReadAsync(items[next++], cancellationToken));
            await ImportAsync(await reads.Dequeue(), cancellationToken);
        }
    }

    private async Task ImportAsync(ObjectRead read, CancellationToken cancellationToken)
    {
        var item = read.Item;
        await using var content = read.Content;
        var report = new IngestReport();
        if (read.Refusal is not null)
            report.Refuse(item.Key, read.Refusal);
        await using var transaction = await database.Database.BeginTransactionAsync(cancellationToken);
        if (content is not null && _inPlace)
            await ingestor.RegisterStoredAsync(import.TeamId, import.CollectionId, item.Key, item.Key, content, report, cancellationToken);
        else if (content is not null)
            await ingestor.IngestAsync(import.TeamId, import.CollectionId, item.Key, null, content, report, cancellationToken);

        var outcome = report.ToResponse();
        var now = clock.GetUtcNow();
        foreach (var refused in outcome.Refused)
            database.SkippedObjects.Add(new SkippedObject { ImportId = import.Id, Key = item.Key, Reason = refused.Reason, SkippedAt = now });
        await database.SaveChangesAsync(cancellationToken);
        database.ChangeTracker.Clear();
        var (registered, duplicates, skipped) = (outcome.Accepted.Count, outcome.Duplicates.Count, outcome.Refused.Count);
        await database.Imports.Where(i => i.Id == import.Id).ExecuteUpdateAsync(set => set
            .SetProperty(i => i.LastKey, item.Key)
            .SetProperty(i => i.Listed, i => i.Listed + 1)
            .SetProperty(i => i.Registered, i => i.Registered + registered)
            .SetProperty(i => i.Duplicates, i => i.Duplicates + duplicates)
            .SetProperty(i => i.Skipped, i => i.Skipped + skipped)
            .SetProperty(i => i.UpdatedAt, now), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The object's bytes, or why it cannot be imported.</summary>
    private async Task<ObjectRead> ReadAsync(StoredObject item, CancellationToken cancellationToken)
    {
        if (item.SizeBytes > limits.MaxImageBytes)
            return new ObjectRead(item, null, $"larger than the {limits.MaxImageBytes}-byte limit of one image ({item.SizeBytes} bytes)");
        try
        {
            return new ObjectRead(item, await store.ReadAsync(import.Bucket, item.Key, cancellationToken), null);
        }
        catch (FileNotFoundException)
        {
            return new ObjectRead(item, null, "the object was deleted after it was listed");
        }
        catch (ObjectUnreadableException refused)
        {
            // The store refused this object (access denied to it, say); other objects may still import. A server
            // error is not caught: the import stops and is taken up again at this object.
            return new ObjectRead(item, null, $"the object could not be read: {refused.Message}");
        }
    }

    private sealed record ObjectRead(StoredObject Item, Stream? Content, string? Refusal);
}
