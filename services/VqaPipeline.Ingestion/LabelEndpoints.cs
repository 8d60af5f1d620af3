using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Hosting.Paging;
using VqaPipeline.Ingestion.Data;

namespace VqaPipeline.Ingestion;

/// <summary>One human label as the API takes and shows it.</summary>
public sealed record LabelItem(Guid ImageId, string? Question, IReadOnlyList<string>? Answers);

/// <summary>A stored label.</summary>
public sealed record LabelResponse(Guid Id, Guid ImageId, string Question, IReadOnlyList<string> Answers, DateTimeOffset UpdatedAt);

/// <summary>
/// One change of a label: <c>change</c> is created, updated or deleted; <c>before</c> and <c>after</c> the answers
/// (null where there were none); who made it: the team, the prefix of its API key (never the key) and the key's role.
/// </summary>
public sealed record LabelChangeResponse(
    string Change, Guid ImageId, string Question, IReadOnlyList<string>? Before, IReadOnlyList<string>? After,
    DateTimeOffset ChangedAt, string Team, string? KeyPrefix, string Role);

/// <summary>What <c>POST /collections/{id}/labels</c> stored.</summary>
public sealed record StoreLabelsResponse(int Stored);

/// <summary>
/// Human answers for images of a collection: a catalog team corrects answers, the corrections train the next model.
/// A label for an (image, question) already labelled replaces the earlier answers. Every change is kept in the label's
/// history, written in the transaction of the change.
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
        labels.MapDelete("/{labelId:guid}", DeleteLabelAsync);
        labels.MapGet("/{labelId:guid}/history", ListHistoryAsync);
    }

    /// <summary>The key of the label list: image, then question.</summary>
    public sealed record LabelKey(Guid ImageId, string Question);

    /// <summary>The key of a label's history: the change's sequence number.</summary>
    public sealed record ChangeKey(long Id);

    private static async Task<Results<Ok<StoreLabelsResponse>, ProblemHttpResult>>
        StoreLabelsAsync(Guid collectionId, List<LabelItem>? items, Caller caller, HttpRequest request, IngestionDbContext database,
            TimeProvider clock, CancellationToken cancellationToken)
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
        await LockLabelsAsync(database, collectionId, cancellationToken);
        var existing = (await database.Labels
                .Where(l => l.CollectionId == collectionId && imageIds.Contains(l.ImageId))
                .ToListAsync(cancellationToken))
            .ToDictionary(l => (l.ImageId, l.Question));
        foreach (var ((imageId, question), answers) in labels)
        {
            if (existing.TryGetValue((imageId, question), out var label))
            {
                if (!label.Answers.SequenceEqual(answers))
                    database.LabelChanges.Add(Change(label, LabelChangeKind.Updated, label.Answers, answers, caller, request, now));
                label.Answers = answers;
                label.UpdatedAt = now;
                continue;
            }
            label = new ImageLabel { Id = Guid.NewGuid(), CollectionId = collectionId, ImageId = imageId, Question = question, Answers = answers, UpdatedAt = now };
            database.Labels.Add(label);
            database.LabelChanges.Add(Change(label, LabelChangeKind.Created, null, answers, caller, request, now));
        }
        await database.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.Ok(new StoreLabelsResponse(labels.Count));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteLabelAsync(
        Guid collectionId, Guid labelId, Caller caller, HttpRequest request, IngestionDbContext database, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (!await database.HasCollectionAsync(caller, collectionId, cancellationToken))
            return Endpoints.UnknownCollection(collectionId);
        await using var transaction = await database.Database.BeginTransactionAsync(cancellationToken);
        await LockLabelsAsync(database, collectionId, cancellationToken);
        var label = await database.Labels.SingleOrDefaultAsync(l => l.Id == labelId && l.CollectionId == collectionId, cancellationToken);
        if (label is null)
            return UnknownLabel(collectionId, labelId);
        database.Labels.Remove(label);
        database.LabelChanges.Add(Change(label, LabelChangeKind.Deleted, label.Answers, null, caller, request, clock.GetUtcNow()));
        await database.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Serialises the label writes of one collection (a row lock on the collection until the transaction ends), so the
    /// answers a change records as before are the ones it replaced, even when two requests label the same image at once.
    /// </summary>
    private static Task LockLabelsAsync(IngestionDbContext database, Guid collectionId, CancellationToken cancellationToken) =>
        database.Database.ExecuteSqlInterpolatedAsync($"SELECT 1 FROM collections WHERE id = {collectionId} FOR UPDATE", cancellationToken);

    private static LabelChange Change(ImageLabel label, LabelChangeKind kind, List<string>? before, List<string>? after, Caller caller,
        HttpRequest request, DateTimeOffset now) => new()
    {
        LabelId = label.Id, CollectionId = label.CollectionId, ImageId = label.ImageId, Question = label.Question, Kind = kind,
        Before = before is null ? null : [.. before], After = after is null ? null : [.. after], ChangedAt = now,
        TeamId = caller.TeamId, Team = caller.Team, Role = caller.Role,
        KeyPrefix = request.Headers[GatewayHeaders.KeyPrefix].ToString() is { Length: > 0 } prefix ? prefix : null,
    };

    private static ProblemHttpResult UnknownLabel(Guid collectionId, Guid labelId) =>
        ApiProblem.NotFound($"label {labelId} is not in collection {collectionId}");

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

    private static async Task<Results<Ok<Page<LabelResponse>>, ProblemHttpResult>> ListLabelsAsync(
        Guid collectionId, Caller caller, PageRequest<LabelKey> page, IngestionDbContext database, CancellationToken cancellationToken)
    {
        if (!await database.HasCollectionAsync(caller, collectionId, cancellationToken))
            return Endpoints.UnknownCollection(collectionId);
        var labels = database.Labels.AsNoTracking().Where(l => l.CollectionId == collectionId);
        if (page.After is { } after)
            labels = labels.Where(l =>
                EF.Functions.GreaterThan(ValueTuple.Create(l.ImageId, l.Question), ValueTuple.Create(after.ImageId, after.Question)));
        var rows = await labels
            .OrderBy(l => l.ImageId).ThenBy(l => l.Question)
            .Take(page.Fetch)
            .Select(l => new LabelResponse(l.Id, l.ImageId, l.Question, l.Answers, l.UpdatedAt))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(page.ToPage(rows, l => new LabelKey(l.ImageId, l.Question)));
    }

    /// <summary>
    /// The changes of one label, oldest first (also of a deleted label); a label of another team's collection is
    /// unknown, like one that never was.
    /// </summary>
    private static async Task<Results<Ok<Page<LabelChangeResponse>>, ProblemHttpResult>> ListHistoryAsync(
        Guid collectionId, Guid labelId, Caller caller, PageRequest<ChangeKey> page, IngestionDbContext database,
        CancellationToken cancellationToken)
    {
        if (!await database.HasCollectionAsync(caller, collectionId, cancellationToken))
            return Endpoints.UnknownCollection(collectionId);
        var changes = database.LabelChanges.AsNoTracking().Where(c => c.CollectionId == collectionId && c.LabelId == labelId);
        if (page.After is null
            && !await changes.AnyAsync(cancellationToken)
            && !await database.Labels.AnyAsync(l => l.Id == labelId && l.CollectionId == collectionId, cancellationToken))
            return UnknownLabel(collectionId, labelId);
        if (page.After is { } after)
            changes = changes.Where(c => c.Id > after.Id);
        var rows = await changes.OrderBy(c => c.Id).Take(page.Fetch).ToListAsync(cancellationToken);
        return TypedResults.Ok(page.ToPage(rows, c => new ChangeKey(c.Id), c => new LabelChangeResponse(
            LowerCaseEnum.Text(c.Kind), c.ImageId, c.Question, c.Before, c.After, c.ChangedAt, c.Team, c.KeyPrefix, c.Role)));
    }
}
