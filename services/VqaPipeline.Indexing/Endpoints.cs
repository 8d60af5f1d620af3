using MassTransit;
using Microsoft.Extensions.Options;
using VqaPipeline.Messaging;

namespace VqaPipeline.Indexing;

/// <summary>The HTTP API: retrieval by question and answer, and replay of logged messages.</summary>
internal static class Endpoints
{
    public static void MapIndexingEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/search", SearchAsync).WithTags("search");
        app.MapPost("/admin/replay", ReplayAsync).WithTags("admin");
    }

    private static async Task<IResult> SearchAsync(HttpRequest request, RetrievalSearch search, CancellationToken cancellationToken)
    {
        var (query, error) = SearchQuery.Parse(request.Query);
        return query is null ? TypedResults.BadRequest(new ErrorResponse(error!)) : await search.RunAsync(query, cancellationToken);
    }

    private static async Task<IResult> ReplayAsync(ReplayRequest request, HttpContext context, IOptions<IndexingOptions> options,
        EventLogReplayer replayer, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        if (AdminAccess.Refusal(context, options.Value.AdminToken) is { } refusal)
            return refusal;
        var (filter, error) = ReplayFilter.Parse(request.Type, request.From, request.To, request.Collection, request.Job);
        if (filter is null)
            return TypedResults.BadRequest(new ErrorResponse(error!));
        var matched = await replayer.CountAsync(filter, cancellationToken);
        var republished = request.DryRun ? 0 : await replayer.ReplayAsync(filter, publisher, cancellationToken);
        return TypedResults.Ok(new ReplayResponse(matched, republished));
    }
}
