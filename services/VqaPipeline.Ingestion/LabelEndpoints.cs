using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion.Data;

namespace VqaPipeline.Ingestion;

/// <summary>One human label as the API takes and shows it.</summary>
public sealed record LabelItem(Guid ImageId, string? Question, IReadOnlyList<string>? Answers);

/// <summary>A stored label.</summary>
public sealed record LabelResponse(Guid ImageId, string Question, IReadOnlyList<string> Answers, DateTimeOffset UpdatedAt);

/// <summary>What <c>POST /collections/{id}/labels</c> stored.</summary>
public sealed record StoreLabelsResponse(int Stored);

/// <summary>
/// Human answers for images of a collection: a catalog team corrects answers, the corrections train the next model.
/// A label for an (image, question) already labelled replaces the earlier answers.
/// </summary>
internal static class LabelEndpoints
{
    public const int MaxQuestionLength = 1000;
    public const int MaxAnswers = 100;
    public const int MaxAnswerLength = 200;
    public const int MaxLabelsPerRequest = 10_000;

    /// <summary>The largest body of <c>POST …/labels</c>.</summary>
    public const long LabelsBodyBytes = 32L * 1024 * 1024;

    public static void MapLabelEndpoints(this IEndpointRouteBuilder app)
    {
        var labels = app.MapGroup("/collections/{collectionId:guid}/labels").WithTags("labels").RequireCaller();
        // Up to MaxLabelsPerRequest labels of long questions and many answers: more than the server's 1 MiB for JSON.
        labels.MapPost("/", StoreLabelsAsync).WithBodyLimit(LabelsBodyBytes);
        labels.MapGet("/", ListLabelsAsync);
    }

    private static async Task<Results<Ok<StoreLabelsResponse>, ProblemHttpResult>>
        StoreLabelsAsync(Guid collectionId, List<LabelItem>? items, Caller caller, IngestionDbContext database, TimeProvider clock,
            CancellationToken cancellationToken)
    {
        if (!await database.HasCollectionAsync(caller, collectionId, cancellationToken))
            return Endpoints.UnknownCollection(collectionId);
        if (items is not { Count: > 0 })
            return ApiProblem.BadRequest("send a JSON array of {\"imageId\", \"question\", \"answers\"}");
        if (items.Count > MaxLabelsPerRequest)
            return ApiProblem.BadRequest($"at most {MaxLabelsPerRequest} labels per request (got {items.Count})");

        var imageIds = items.Select(i => i.ImageId).Distinct().ToList();
        var known = (await database.Images.AsNoTracking()
                .Where(i => i.CollectionId == collectionId && imageIds.Contains(i.Id))
                .Select(i => i.Id)
                .ToListAsync(cancellationToken))
            .ToHashSet();

        // The last label of a request for an (image, question) wins, as a later request's would.
        var labels = new Dictionary<(Guid, string), List<string>>();
        for (var index = 0; index < items.Count; index++)
        {
            var item = items[index];
            if (Invalid(item, known, collectionId) is { } reason)
                return ApiProblem.BadRequest($"label {index}: {reason}");
            labels[(item.ImageId, item.Question!.Trim())] = item.Answers!.Select(a => a.Trim()).ToList();
        }

        var now = clock.GetUtcNow();
        await using var transaction = await database.Database.BeginTransactionAsync(cancellationToken);
        foreach (var ((imageId, question), answers) in labels)
        {
            await database.Database.ExecuteSqlInterpolatedAsync(
                $"""
                 INSERT INTO labels (id, collection_id, image_id, question, answers, updated_at)
                 VALUES ({Guid.NewGuid()}, {collectionId}, {imageId}, {question}, {answers.ToArray()}, {now})
                 ON CONFLICT (image_id, question) DO UPDATE SET answers = excluded.answers, updated_at = excluded.updated_at
                 """, cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.Ok(new StoreLabelsResponse(labels.Count));
    }

    private static string? Invalid(LabelItem item, HashSet<Guid> known, Guid collectionId)
    {
        if (!known.Contains(item.ImageId))
            return $"image {item.ImageId} is not in collection {collectionId}";
        if (string.IsNullOrWhiteSpace(item.Question))
            return "the question is empty";
        if (item.Question.Trim().Length > MaxQuestionLength)
            return $"the question is longer than {MaxQuestionLength} characters";
        if (item.Answers is not { Count: > 0 })
            return "give at least one answer in 'answers'";
        if (item.Answers.Count > MaxAnswers)
            return $"at most {MaxAnswers} answers per label";
        if (item.Answers.Any(string.IsNullOrWhiteSpace))
            return "an answer is empty";
        if (item.Answers.Any(a => a.Trim().Length > MaxAnswerLength))
            return $"an answer is longer than {MaxAnswerLength} characters";
        return null;
    }

    private static async Task<Results<Ok<List<LabelResponse>>, ProblemHttpResult>> ListLabelsAsync(
        Guid collectionId, Caller caller, IngestionDbContext database, CancellationToken cancellationToken)
    {
        if (!await database.HasCollectionAsync(caller, collectionId, cancellationToken))
            return Endpoints.UnknownCollection(collectionId);
        var labels = await database.Labels.AsNoTracking()
            .Where(l => l.CollectionId == collectionId)
            .OrderBy(l => l.ImageId).ThenBy(l => l.Question)
            .Select(l => new LabelResponse(l.ImageId, l.Question, l.Answers, l.UpdatedAt))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(labels);
    }
}
