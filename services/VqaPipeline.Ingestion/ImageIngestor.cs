using System.Security.Cryptography;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Storage;

namespace VqaPipeline.Ingestion;

/// <summary>
/// Stores one original (content-addressed, so once) or takes one already in the system's bucket where it is (a bucket
/// import), records it as pending in its collection and puts <see cref="ImageIngested"/> in the outbox in the same
/// commit, so the message goes out if and only if the row exists. The unique (collection, sha256) index, not a prior
/// lookup, decides duplicates, so two uploads of the same bytes racing each other still yield one row.
/// </summary>
internal sealed class ImageIngestor(
    IngestionDbContext database, ObjectStore store, TimeProvider clock, IngestionMetrics metrics, ILogger<ImageIngestor> logger)
{
    private const string UniqueViolation = "23505";

    /// <summary>Ingests <paramref name="content"/> (seekable, positioned at its start) into the report.</summary>
    public Task IngestAsync(
        Guid teamId, Guid collectionId, string fileName, string? declaredContentType, Stream content, IngestReport report,
        CancellationToken cancellationToken) =>
        IngestAsync(teamId, collectionId, fileName, declaredContentType, content, storedKey: null, report, cancellationToken);

    /// <summary>
    /// Ingests the object already at <paramref name="storedKey"/> in the system's bucket, whose bytes are
    /// <paramref name="content"/>, without copying it: the image's original is that object.
    /// </summary>
    public Task RegisterStoredAsync(
        Guid teamId, Guid collectionId, string fileName, string storedKey, Stream content, IngestReport report,
        CancellationToken cancellationToken) =>
        IngestAsync(teamId, collectionId, fileName, null, content, storedKey, report, cancellationToken);

    /// <param name="teamId">The team of the collection, announced with the image.</param>
    private async Task IngestAsync(
        Guid teamId, Guid collectionId, string fileName, string? declaredContentType, Stream content, string? storedKey,
        IngestReport report, CancellationToken cancellationToken)
    {
        var sniffed = ImageSignature.MediaTypeOf(await ImageSignature.PeekAsync(content, cancellationToken));
        if (sniffed is null)
        {
            report.Refuse(fileName, "not an image: the content is not JPEG, PNG, GIF, BMP or WebP");
            return;
        }

        var contentType = declaredContentType is { Length: > 0 } declared && declared.StartsWith("image/", StringComparison.OrdinalIgnoreCase)
            ? declared
            : sniffed;
        var stored = storedKey is null
            ? await store.PutAsync(content, contentType, ObjectStore.OriginalsPrefix, cancellationToken)
            : await DescribeAsync(content, storedKey, cancellationToken);
        var now = clock.GetUtcNow();
        var image = new Image
        {
            Id = NewId.NextGuid(),
            CollectionId = collectionId,
            Sha256 = stored.Sha256,
            ObjectKey = stored.Key,
            FileName = fileName,
            ContentType = contentType,
            SizeBytes = stored.SizeBytes,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var message = new ImageIngested(
            collectionId, image.Id, stored.Key, stored.Sha256, fileName, contentType, stored.SizeBytes, now) { TeamId = teamId };
        database.Images.Add(image);
        database.AddOutgoing(message);
        try
        {
            await database.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException exception) when (exception.InnerException is PostgresException { SqlState: UniqueViolation })
        {
            database.ChangeTracker.Clear();
            var existing = await database.Images.AsNoTracking()
                .Where(i => i.CollectionId == collectionId && i.Sha256 == stored.Sha256)
                .Select(i => i.Id)
                .SingleAsync(cancellationToken);
            report.Duplicate(new IngestedImage(existing, fileName, stored.Sha256));
            metrics.Duplicate();
            return;
        }
        finally
        {
            database.ChangeTracker.Clear();
        }

        logger.LogInformation("Ingested {FileName} as {ImageId} ({Sha256}) into {CollectionId}",
            LogText.Sanitize(fileName), image.Id, stored.Sha256, collectionId);
        report.Accept(new IngestedImage(image.Id, fileName, stored.Sha256));
        metrics.Ingested();
    }

    private static async Task<PutResult> DescribeAsync(Stream content, string key, CancellationToken cancellationToken)
    {
        var start = content.Position;
        var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(content, cancellationToken));
        return new PutResult(key, sha256, content.Position - start, AlreadyStored: true);
    }
}
