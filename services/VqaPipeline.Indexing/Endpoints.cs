using VqaPipeline.Hosting;
using VqaPipeline.Messaging.Replay;
using Microsoft.Extensions.Options;

namespace VqaPipeline.Indexing;

/// <summary>The HTTP API: retrieval by question and answer, and replay of logged messages.</summary>
internal static class Endpoints
{
    public static void MapIndexingEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/search", SearchAsync).WithTags("search").RequireCaller();
        app.MapPost("/admin/replay", ReplayAsync).WithTags("admin");
    }

    private static async Task<IResult> SearchAsync(HttpRequest request, Caller caller, RetrievalSearch search, CancellationToken cancellationToken)
    {
        var (query, error) = SearchQuery.Parse(request.Query);
        return query is null ? ApiProblem.BadRequest(error!) : await search.RunAsync(query, caller, cancellationToken);
    }

    /// <summary>
    /// Replays from the event log of the service that published the type (only it can read its log): the request goes
    /// to that service over the bus, and its answer comes back here.
    /// </summary>
    private static async Task<IResult> ReplayAsync(ReplayRequest request, HttpContext context, IOptions<IndexingOptions> options,
        IConfiguration configuration, ReplayClient replays, CancellationToken cancellationToken)
    {
        if (AdminAccess.Refusal(context, options.Value.AdminToken, configuration[GatewayHeaders.InternalSecretSetting]) is { } refusal)
            return refusal;
        var (filter, error) = ReplayFilter.Parse(request.Type, request.From, request.To, request.Collection, request.Job);
        if (filter is null)
            return ApiProblem.BadRequest(error!);
        var (result, unavailable) = await replays.ReplayAsync(filter, request.DryRun, cancellationToken);
        return result is null
            ? ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, unavailable!)
            : TypedResults.Ok(new ReplayResponse(result.Matched, result.Republished));
    }
}
