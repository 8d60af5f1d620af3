using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion.Data;

namespace VqaPipeline.Ingestion;

/// <summary>
/// The ingestion service's per-team quota: images in flight, stored but not yet through preprocessing, checked before
/// an upload, a URL ingest or a bucket import adds more (<see cref="TeamQuota"/>; setting <c>Quotas:UploadsInFlight</c>).
/// </summary>
internal static class IngestionQuotas
{
    /// <summary>Images of a team still pending; preprocessing takes a few a second per worker, so half a minute frees some.</summary>
    public static readonly TeamQuota UploadsInFlight =
        new("UploadsInFlight", 10_000, "images waiting for preprocessing", TimeSpan.FromSeconds(30));

    /// <summary>The 429 of a team at its quota of images in flight, or <c>null</c>.</summary>
    public static Task<ProblemHttpResult?> UploadRefusalAsync(
        this IngestionDbContext database, Caller caller, IConfiguration configuration, HttpResponse response,
        CancellationToken cancellationToken) =>
        UploadsInFlight.RefusalAsync(configuration, caller, response, token =>
            // The partial index of pending images by collection answers this without reading the team's other images.
            database.Images.CountAsync(i => i.Status == ImageStatus.Pending && i.Collection!.TeamId == caller.TeamId, token),
            cancellationToken);
}
