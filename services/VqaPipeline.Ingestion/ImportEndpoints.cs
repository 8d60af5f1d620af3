using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Storage;

namespace VqaPipeline.Ingestion;

/// <summary>The body of <c>POST /collections/{id}/imports</c>.</summary>
/// <param name="Bucket">The bucket whose objects become images of the collection.</param>
/// <param name="Prefix">Only keys starting with this (none: the whole bucket).</param>
public sealed record CreateImportRequest(string? Bucket, string? Prefix);

/// <summary>An object of an import that did not become an image, and why.</summary>
public sealed record SkippedObjectResponse(string Key, string Reason);

/// <summary>A bucket import and its progress.</summary>
/// <param name="ImportId">The import's id.</param>
/// <param name="CollectionId">The collection the images join.</param>
/// <param name="Bucket">The bucket listed.</param>
/// <param name="Prefix">The prefix listed.</param>
/// <param name="State">running, completed or failed.</param>
/// <param name="Reason">Why it failed.</param>
/// <param name="LastKey">The last key handled.</param>
/// <param name="Listed">Objects handled so far: <paramref name="Registered"/> + <paramref name="Duplicates"/> + <paramref name="Skipped"/>.</param>
/// <param name="Registered">Objects that became new images.</param>
/// <param name="Duplicates">Objects whose content already was an image of the collection.</param>
/// <param name="Skipped">Objects not imported.</param>
/// <param name="SkippedObjects">The first skipped objects (up to 100) with their reasons.</param>
/// <param name="CreatedAt">When the import was asked for.</param>
/// <param name="UpdatedAt">When it last made progress.</param>
public sealed record ImportResponse(
    Guid ImportId, Guid CollectionId, string Bucket, string Prefix, string State, string? Reason, string? LastKey,
    long Listed, long Registered, long Duplicates, long Skipped, IReadOnlyList<SkippedObjectResponse> SkippedObjects,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>Bucket imports: register images that already sit in object storage, in the background.</summary>
internal static class ImportEndpoints
{
    private const int MaxPrefixLength = 1024;
    private const int SkippedObjectsShown = 100;

    public static void MapImportEndpoints(this IEndpointRouteBuilder app)
    {
        var imports = app.MapGroup("/collections/{collectionId:guid}/imports").WithTags("imports").RequireCaller();
        imports.MapPost("/", CreateImportAsync);
        imports.MapGet("/{importId:guid}", GetImportAsync);
    }

    private static async Task<Results<Accepted<ImportResponse>, ProblemHttpResult>>
        CreateImportAsync(Guid collectionId, CreateImportRequest? request, Caller caller, IngestionDbContext database, ImportSignal signal,
            ObjectStore store, TimeProvider clock, IConfiguration configuration, HttpResponse response, CancellationToken cancellationToken)
    {
        if (!await database.HasCollectionAsync(caller, collectionId, cancellationToken))
            return Endpoints.UnknownCollection(collectionId);
        var bucket = request?.Bucket?.Trim() ?? "";
        if (bucket.Length == 0)
            return ApiProblem.BadRequest("give the bucket to import from in 'bucket'");
        if (!ObjectStore.IsValidBucketName(bucket))
            return ApiProblem.BadRequest(
                $"'{bucket}' is not a valid bucket name (3–63 lower-case letters, digits, dots and hyphens)");
        var prefix = request?.Prefix ?? "";
        if (prefix.Length > MaxPrefixLength)
            return ApiProblem.BadRequest($"a prefix has at most {MaxPrefixLength} characters");
        // The system's bucket also holds every team's originals, model-ready copies, datasets and models: importing
        // those would hand another team's images to the caller.
        if (bucket == store.Bucket && StorageAreas.Reaches(prefix, StorageAreas.Written))
            return ApiProblem.BadRequest(
                $"in the system's bucket '{bucket}', give a prefix of your own: not empty, not under {string.Join(", ", StorageAreas.Written.Select(f => f + "/"))}");
        if (await database.UploadRefusalAsync(caller, configuration, response, cancellationToken) is { } overQuota)
            return overQuota;

        var now = clock.GetUtcNow();
        var import = new BucketImport
        {
            Id = Guid.NewGuid(), CollectionId = collectionId, TeamId = caller.TeamId, Bucket = bucket, Prefix = prefix, CreatedAt = now, UpdatedAt = now,
        };
        database.Imports.Add(import);
        await database.SaveChangesAsync(cancellationToken);
        signal.Notify();
        return TypedResults.Accepted($"/collections/{collectionId}/imports/{import.Id}", ToResponse(import, []));
    }

    private static async Task<Results<Ok<ImportResponse>, ProblemHttpResult>> GetImportAsync(
        Guid collectionId, Guid importId, Caller caller, IngestionDbContext database, CancellationToken cancellationToken)
    {
        var import = await database.Imports.AsNoTracking()
            .SingleOrDefaultAsync(i => i.Id == importId && i.CollectionId == collectionId && i.TeamId == caller.TeamId, cancellationToken);
        if (import is null)
            return ApiProblem.NotFound($"collection {collectionId} has no import {importId}");
        var skipped = await database.SkippedObjects.AsNoTracking()
            .Where(s => s.ImportId == importId)
            .OrderBy(s => s.Key)
            .Take(SkippedObjectsShown)
            .Select(s => new SkippedObjectResponse(s.Key, s.Reason))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(ToResponse(import, skipped));
    }

    private static ImportResponse ToResponse(BucketImport import, IReadOnlyList<SkippedObjectResponse> skipped) =>
        new(import.Id, import.CollectionId, import.Bucket, import.Prefix, import.State.ToString().ToLowerInvariant(),
            import.FailureReason, import.LastKey, import.Listed, import.Registered, import.Duplicates, import.Skipped, skipped,
            import.CreatedAt, import.UpdatedAt);
}
