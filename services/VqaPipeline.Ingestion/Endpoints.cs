using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using VqaPipeline.Hosting;
using VqaPipeline.Hosting.Paging;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Storage;

namespace VqaPipeline.Ingestion;

/// <summary>The HTTP API: collections, uploads (files, zip archives, URLs) and image listings.</summary>
internal static class Endpoints
{
    private const int MaxCollectionNameLength = 200;

    public static void MapIngestionEndpoints(this IEndpointRouteBuilder app)
    {
        var collections = app.MapGroup("/collections").WithTags("collections").RequireCaller();
        collections.MapPost("/", CreateCollectionAsync);
        collections.MapGet("/", ListCollectionsAsync);
        collections.MapGet("/{collectionId:guid}", GetCollectionAsync);
        collections.MapPost("/{collectionId:guid}/images", UploadImagesAsync).DisableAntiforgery()
            .Accepts<IFormFileCollection>("multipart/form-data")
            .WithBodyLimit(app.ServiceProvider.GetRequiredService<IngestionOptions>().MaxRequestBytes);
        collections.MapPost("/{collectionId:guid}/images/urls", IngestUrlsAsync);
        collections.MapGet("/{collectionId:guid}/images", ListImagesAsync);
        collections.MapGet("/{collectionId:guid}/images/{imageId:guid}/content", GetImageContentAsync);
    }

    private static async Task<Results<Created<CollectionResponse>, ProblemHttpResult>>
        CreateCollectionAsync(CreateCollectionRequest request, Caller caller, IngestionDbContext database, TimeProvider clock,
            CancellationToken cancellationToken)
    {
        var name = request.Name?.Trim() ?? "";
        if (name.Length == 0)
            return ApiProblem.BadRequest("a collection needs a non-empty name");
        if (name.Length > MaxCollectionNameLength)
            return ApiProblem.BadRequest($"a collection name has at most {MaxCollectionNameLength} characters");

        var collection = new Collection { Id = Guid.NewGuid(), TeamId = caller.TeamId, Name = name, CreatedAt = clock.GetUtcNow() };
        database.Collections.Add(collection);
        try
        {
            await database.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException exception) when (exception.InnerException is PostgresException { SqlState: "23505" })
        {
            return ApiProblem.Conflict($"a collection named '{name}' already exists");
        }
        return TypedResults.Created($"/collections/{collection.Id}", new CollectionResponse(collection.Id, collection.Name));
    }

    private static async Task<Page<CollectionResponse>> ListCollectionsAsync(
        Caller caller, PageRequest<CreatedKey> page, IngestionDbContext database, CancellationToken cancellationToken)
    {
        var collections = database.Collections.AsNoTracking().Where(c => c.TeamId == caller.TeamId);
        if (page.After is { } after)
            collections = collections.Where(c =>
                EF.Functions.GreaterThan(ValueTuple.Create(c.CreatedAt, c.Id), ValueTuple.Create(after.At, after.Id)));
        var rows = await collections.OrderBy(c => c.CreatedAt).ThenBy(c => c.Id).Take(page.Fetch).ToListAsync(cancellationToken);
        return page.ToPage(rows, c => new CreatedKey(c.CreatedAt, c.Id), c => new CollectionResponse(c.Id, c.Name));
    }

    /// <summary>
    /// One collection of the caller's team with how many images and labels it holds (what other services ask the
    /// owner, with the caller's headers).
    /// </summary>
    private static async Task<Results<Ok<CollectionSummary>, ProblemHttpResult>> GetCollectionAsync(
        Guid collectionId, Caller caller, IngestionDbContext database, CancellationToken cancellationToken)
    {
        var summary = await database.Collections.AsNoTracking()
            .Where(c => c.Id == collectionId && c.TeamId == caller.TeamId)
            .Select(c => new CollectionSummary(c.Id, c.Name, c.Images.Count, database.Labels.Count(l => l.CollectionId == c.Id)))
            .SingleOrDefaultAsync(cancellationToken);
        return summary is null ? UnknownCollection(collectionId) : TypedResults.Ok(summary);
    }

    private static async Task<Results<Ok<IngestResponse>, ProblemHttpResult>>
        UploadImagesAsync(Guid collectionId, Caller caller, HttpRequest request, IngestionDbContext database, ImageIngestor ingestor,
            ArchiveExpander archives, IConfiguration configuration, CancellationToken cancellationToken)
    {
        if (!await database.HasCollectionAsync(caller, collectionId, cancellationToken))
            return UnknownCollection(collectionId);
        if (!request.HasFormContentType)
            return ApiProblem.BadRequest("send multipart/form-data with one or more parts named 'files'");
        if (await database.UploadRefusalAsync(caller, configuration, request.HttpContext.Response, cancellationToken) is { } overQuota)
            return overQuota;

        var form = await request.ReadFormAsync(cancellationToken);
        var files = form.Files.GetFiles("files");
        if (files.Count == 0)
            return ApiProblem.BadRequest("no part named 'files' in the form");
        if (await ArchiveRefusalAsync(files, archives, cancellationToken) is { } archiveProblem)
            return archiveProblem;

        var report = new IngestReport();
        foreach (var file in files)
        {
            var fileName = UploadedName(file);
            await using var content = file.OpenReadStream();
            if (await IsArchiveAsync(content, fileName, cancellationToken))
            {
                await archives.ExpandAsync(content, fileName, report,
                    (entryName, entry) => ingestor.IngestAsync(caller.TeamId, collectionId, entryName, null, entry, report, cancellationToken),
                    cancellationToken);
            }
            else
            {
                await ingestor.IngestAsync(caller.TeamId, collectionId, fileName, file.ContentType, content, report, cancellationToken);
            }
        }
        return TypedResults.Ok(report.ToResponse());
    }

    /// <summary>The name a part was uploaded under, without the client's folders.</summary>
    private static string UploadedName(IFormFile file) => Path.GetFileName(file.FileName.Replace('\\', '/'));

    private static async Task<bool> IsArchiveAsync(Stream content, string fileName, CancellationToken cancellationToken) =>
        ImageSignature.IsZip(await ImageSignature.PeekAsync(content, cancellationToken))
        || fileName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A 413 when an archive of the upload has too many entries or declares too much content, found from the central
    /// directories before any file of the upload is ingested, so a zip bomb is refused without being inflated.
    /// </summary>
    private static async Task<ProblemHttpResult?> ArchiveRefusalAsync(
        IReadOnlyList<IFormFile> files, ArchiveExpander archives, CancellationToken cancellationToken)
    {
        foreach (var file in files)
        {
            var fileName = UploadedName(file);
            await using var content = file.OpenReadStream();
            if (await IsArchiveAsync(content, fileName, cancellationToken) && archives.RefusalReason(content, fileName) is { } reason)
                return ApiProblem.Of(StatusCodes.Status413PayloadTooLarge, reason);
        }
        return null;
    }

    private static async Task<Results<Ok<IngestResponse>, ProblemHttpResult>>
        IngestUrlsAsync(Guid collectionId, Caller caller, IngestUrlsRequest request, IngestionDbContext database, ImageIngestor ingestor,
            UrlDownloader downloader, IngestionOptions limits, IConfiguration configuration, HttpResponse response,
            CancellationToken cancellationToken)
    {
        if (!await database.HasCollectionAsync(caller, collectionId, cancellationToken))
            return UnknownCollection(collectionId);
        if (request.Urls is not { Count: > 0 } urls)
            return ApiProblem.BadRequest("give one or more URLs in 'urls'");
        if (urls.Count > limits.MaxUrlsPerRequest)
            return ApiProblem.BadRequest($"give at most {limits.MaxUrlsPerRequest} URLs per request, not {urls.Count}");
        if (await database.UploadRefusalAsync(caller, configuration, response, cancellationToken) is { } overQuota)
            return overQuota;

        var report = new IngestReport();
        foreach (var url in urls)
        {
            var download = await downloader.DownloadAsync(url, cancellationToken);
            if (download.Content is null)
            {
                report.Refuse(download.FileName, download.Failure!);
                continue;
            }
            await using var content = download.Content;
            await ingestor.IngestAsync(caller.TeamId, collectionId, download.FileName, download.ContentType, content, report, cancellationToken);
        }
        return TypedResults.Ok(report.ToResponse());
    }

    private static async Task<Results<Ok<Page<ImageResponse>>, ProblemHttpResult>>
        ListImagesAsync(Guid collectionId, string? status, Caller caller, PageRequest<CreatedKey> page, IngestionDbContext database,
            CancellationToken cancellationToken)
    {
        if (!await database.HasCollectionAsync(caller, collectionId, cancellationToken))
            return UnknownCollection(collectionId);
        var images = database.Images.AsNoTracking().Where(i => i.CollectionId == collectionId);
        if (status is not null)
        {
            if (!Enum.TryParse<ImageStatus>(status, ignoreCase: true, out var wanted) || !Enum.IsDefined(wanted))
                return ApiProblem.BadRequest($"status '{status}' is not one of pending, ready, rejected");
            images = images.Where(i => i.Status == wanted);
        }
        if (page.After is { } after)
            images = images.Where(i =>
                EF.Functions.GreaterThan(ValueTuple.Create(i.CreatedAt, i.Id), ValueTuple.Create(after.At, after.Id)));
        var rows = await images.OrderBy(i => i.CreatedAt).ThenBy(i => i.Id).Take(page.Fetch).ToListAsync(cancellationToken);
        return TypedResults.Ok(page.ToPage(rows, i => new CreatedKey(i.CreatedAt, i.Id), i => new ImageResponse(
            i.Id, i.FileName, i.Sha256, i.Status.ToString().ToLowerInvariant(), i.RejectionReason, i.Width, i.Height)));
    }

    /// <summary>
    /// The original bytes of one image with the media type it was stored under: what the web page shows as a thumbnail
    /// (a browser cannot send the API key with a presigned URL's redirect, so the bytes come through the API).
    /// </summary>
    private static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetImageContentAsync(
        Guid collectionId, Guid imageId, Caller caller, IngestionDbContext database, ObjectStore store, CancellationToken cancellationToken)
    {
        var image = await database.Images.AsNoTracking()
            .Where(i => i.CollectionId == collectionId && i.Id == imageId && i.Collection!.TeamId == caller.TeamId)
            .Select(i => new { i.ObjectKey, i.ContentType })
            .SingleOrDefaultAsync(cancellationToken);
        if (image is null)
            return ApiProblem.NotFound($"image {imageId} is not in collection {collectionId}");
        try
        {
            return TypedResults.Stream(await store.GetAsync(image.ObjectKey, cancellationToken), image.ContentType);
        }
        catch (FileNotFoundException)
        {
            return ApiProblem.NotFound($"the original of image {imageId} is missing from object storage");
        }
    }

    /// <summary>
    /// Whether <paramref name="collectionId"/> is a collection of <paramref name="caller"/>'s team: another team's is
    /// answered exactly like one that does not exist (<see cref="UnknownCollection"/>).
    /// </summary>
    internal static Task<bool> HasCollectionAsync(this IngestionDbContext database, Caller caller, Guid collectionId,
        CancellationToken cancellationToken) =>
        database.Collections.AnyAsync(c => c.Id == collectionId && c.TeamId == caller.TeamId, cancellationToken);

    /// <summary>The 404 of a collection the caller's team does not have.</summary>
    internal static ProblemHttpResult UnknownCollection(Guid collectionId) =>
        ApiProblem.NotFound($"collection {collectionId} does not exist");
}
