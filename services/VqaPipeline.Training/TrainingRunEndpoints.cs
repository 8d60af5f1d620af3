using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Hosting.Paging;
using VqaPipeline.Storage;
using VqaPipeline.Training.Data;

namespace VqaPipeline.Training;

/// <summary>The training data of a run: a collection's labels, or a VQA dataset folder in object storage.</summary>
public sealed record TrainingDatasetRequest(Guid? CollectionId, string? ObjectPrefix);

/// <summary>
/// The body of <c>POST /training-runs</c>. Unset hyper-parameters take the Hugging Face VQA guide's recipe (batch 4,
/// 20 epochs, AdamW lr 5e-5, weight decay 0.01).
/// </summary>
public sealed record TrainingRunRequest(
    string? ModelName,
    TrainingDatasetRequest? Dataset,
    string? BaseModel,
    JsonObject? FromConfig,
    string? Tokenizer,
    int? Epochs,
    int? MaxSteps,
    int? BatchSize,
    int? GradientAccumulation,
    double? LearningRate,
    double? WeightDecay,
    int? WarmupSteps,
    long? Seed,
    string? DType,
    int? SaveEvery,
    int? MaxMemoryMb = null);

/// <summary>What <c>POST /training-runs</c> answers.</summary>
public sealed record TrainingRunAccepted(Guid Id, string StatusUrl);

/// <summary>A training run as <c>GET /training-runs/{id}</c> shows it.</summary>
public sealed record TrainingRunResponse(
    Guid Id, string ModelName, string Status, int Step, int TotalSteps, double? Loss, double? ExamplesPerSecond,
    string? Model, string? Error, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Attempts);

/// <summary>A stored model version as <c>GET /models</c> lists it.</summary>
public sealed record ModelVersionResponse(
    string Name, int Version, string Model, Guid? TrainingRunId, int TrainingExamples, DateTimeOffset CreatedAt);

/// <summary>The training API: starting and following training runs, and the model versions they stored.</summary>
internal static partial class TrainingRunEndpoints
{
    /// <summary>
    /// A team's training runs queued or running (<c>Quotas:TrainingRunsQueued</c>); runs take minutes to hours, so a
    /// client is told to come back in five minutes.
    /// </summary>
    public static readonly TeamQuota TrainingRunsQueued =
        new("TrainingRunsQueued", 5, "training runs queued or running", TimeSpan.FromMinutes(5));

    public static void MapTrainingRunEndpoints(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/training-runs").WithTags("training").RequireCaller();
        runs.MapPost("/", StartAsync);
        runs.MapGet("/{runId:guid}", GetAsync);
        runs.MapPost("/{runId:guid}/cancel", CancelAsync);
        app.MapGet("/models", ListModelsAsync).WithTags("models").RequireCaller();
    }

    private static async Task<IResult> StartAsync(
        TrainingRunRequest request, Caller caller, TrainingDbContext database, ObjectStore store, ModelLocator models,
        CollectionsClient collections, IOptions<TrainingOptions> training, IOptions<TrainingRunLimits> limits, TimeProvider clock,
        IConfiguration configuration, HttpResponse response, CancellationToken cancellationToken)
    {
        string? reason;
        try
        {
            reason = await InvalidAsync(request, caller, store, models, collections, limits.Value, training.Value.MaxMemoryMb, cancellationToken);
        }
        catch (ServiceUnavailableException exception)
        {
            return ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, exception.Message);
        }
        if (reason is not null)
            // A collection the caller's team does not have is not there, whether its id is in the path or in the body.
            return request.Dataset?.CollectionId is { } named && reason == UnknownCollection(named)
                ? ApiProblem.NotFound(reason)
                : ApiProblem.BadRequest(reason);
        if (await TrainingRunsQueued.RefusalAsync(configuration, caller, response, token => database.TrainingRuns
                .CountAsync(r => r.TeamId == caller.TeamId && (r.Status == TrainingRunStatus.Queued || r.Status == TrainingRunStatus.Running), token),
                cancellationToken) is { } overQuota)
            return overQuota;

        var now = clock.GetUtcNow();
        var message = new TrainingRequested(
            Guid.NewGuid(),
            request.ModelName!,
            new TrainingDataset(request.Dataset!.CollectionId, request.Dataset.ObjectPrefix?.Trim('/')),
            new TrainingStart(request.BaseModel, request.FromConfig?.ToJsonString(), request.Tokenizer),
            new TrainingSettings(
                request.Epochs ?? TrainingRunDefaults.Epochs, request.MaxSteps, request.BatchSize ?? TrainingRunDefaults.BatchSize, request.GradientAccumulation ?? 1,
                request.LearningRate ?? 5e-5, request.WeightDecay ?? 0.01, request.WarmupSteps ?? 0, request.Seed ?? 0,
                request.DType ?? "float32", request.SaveEvery ?? 100, request.MaxMemoryMb),
            now) { TeamId = caller.TeamId };
        database.TrainingRuns.Add(new TrainingRun
        {
            Id = message.RunId,
            TeamId = caller.TeamId,
            ModelName = message.ModelName,
            Request = JsonSerializer.Serialize(message, JsonSerializerOptions.Web),
            DatasetPrefix = message.Dataset.ObjectPrefix,
            CreatedAt = now,
            UpdatedAt = now,
        });
        database.AddOutgoing(message);
        await database.SaveChangesAsync(cancellationToken);
        var statusUrl = $"/training-runs/{message.RunId}";
        return TypedResults.Accepted(statusUrl, new TrainingRunAccepted(message.RunId, statusUrl));
    }

    private static async Task<string?> InvalidAsync(TrainingRunRequest request, Caller caller, ObjectStore store, ModelLocator models,
        CollectionsClient collections, TrainingRunLimits limits, int? workerMaxMemoryMb, CancellationToken cancellationToken)
    {
        long? labels = null;
        if (request.ModelName is not { } name || !ModelNamePattern().IsMatch(name))
            return "'modelName' must be 1-100 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit";
        if (request.Dataset is not { } dataset || (dataset.CollectionId is null) == string.IsNullOrWhiteSpace(dataset.ObjectPrefix))
            return "'dataset' must name exactly one of 'collectionId' (its labels) or 'objectPrefix' (a VQA dataset in object storage)";
        if (dataset.CollectionId is { } collectionId)
        {
            var collection = await collections.GetAsync(collectionId, caller, cancellationToken);
            if (collection is null)
                return UnknownCollection(collectionId);
            if (collection.Labels == 0)
                return $"collection {collectionId} has no labels to train on (POST /collections/{collectionId}/labels first)";
            labels = collection.Labels;
        }
        else if (StorageAreas.Reaches(dataset.ObjectPrefix!.Trim('/') + "/", StorageAreas.TeamOwned))
        {
            // Those folders hold teams' images, models and collection datasets: training on them would read another team's.
            return $"'objectPrefix' must name a dataset folder of its own, not one under {string.Join(", ", StorageAreas.TeamOwned.Select(f => f + "/"))}";
        }
        else if ((await store.ListAsync(dataset.ObjectPrefix!.Trim('/') + "/", cancellationToken)).Count == 0)
        {
            return $"nothing is stored under '{dataset.ObjectPrefix}'";
        }

        if ((request.BaseModel is null) == (request.FromConfig is null))
            return "name exactly one starting point: 'baseModel' (a ViLT checkpoint) or 'fromConfig' (a ViLT configuration)";
        if (request.FromConfig is not null && string.IsNullOrWhiteSpace(request.Tokenizer))
            return "'fromConfig' needs 'tokenizer': a model whose tokenizer and image processor files to use";
        foreach (var reference in new[] { request.BaseModel, request.Tokenizer })
        {
            if (reference is not null && (await models.CheckAsync(reference, caller.TeamId, cancellationToken)).Problem is { } unknown)
                return unknown;
        }

        return (request.LearningRate, request.WeightDecay, request.DType) switch
            {
                ({ } lr, _, _) when !(lr > 0) || double.IsInfinity(lr) => "'learningRate' must be positive",
                (_, { } decay, _) when !(decay >= 0) || double.IsInfinity(decay) => "'weightDecay' must not be negative",
                (_, _, { } dtype) when dtype is not ("float32" or "bfloat16") => "'dtype' must be float32 or bfloat16",
                _ => limits.Check(request, labels, workerMaxMemoryMb),
            };
    }

    private static string UnknownCollection(Guid collectionId) => $"collection {collectionId} does not exist";

    private static async Task<Results<Ok<TrainingRunResponse>, ProblemHttpResult>> GetAsync(
        Guid runId, Caller caller, TrainingDbContext database, CancellationToken cancellationToken)
    {
        var run = await database.TrainingRuns.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId && r.TeamId == caller.TeamId, cancellationToken);
        if (run is null)
            return ApiProblem.NotFound($"training run {runId} does not exist");
        return TypedResults.Ok(ResponseOf(run));
    }

    /// <summary>
    /// Cancels a queued or running run at once. Raising the fencing token fences out the worker training it: its next
    /// heartbeat finds the run gone and stops training at the next step, and it stores no model.
    /// </summary>
    private static async Task<Results<Ok<TrainingRunResponse>, ProblemHttpResult>> CancelAsync(
        Guid runId, Caller caller, TrainingDbContext database, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var cancelled = await database.TrainingRuns
            .Where(r => r.Id == runId && r.TeamId == caller.TeamId && (r.Status == TrainingRunStatus.Queued || r.Status == TrainingRunStatus.Running))
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.Status, TrainingRunStatus.Cancelled)
                .SetProperty(r => r.ClaimToken, r => r.ClaimToken + 1)
                .SetProperty(r => r.Worker, (string?)null)
                .SetProperty(r => r.UpdatedAt, now), cancellationToken);
        var run = await database.TrainingRuns.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId && r.TeamId == caller.TeamId, cancellationToken);
        if (run is null)
            return ApiProblem.NotFound($"training run {runId} does not exist");
        if (cancelled == 0)
            return ApiProblem.Conflict($"training run {runId} has ended ({StatusName(run.Status)}); only a queued or running run can be cancelled");
        return TypedResults.Ok(ResponseOf(run));
    }

    private static string StatusName(TrainingRunStatus status) => status.ToString().ToLowerInvariant();

    private static TrainingRunResponse ResponseOf(TrainingRun run) =>
        new(
            run.Id, run.ModelName, StatusName(run.Status), run.Step, run.TotalSteps, run.Loss,
            run.ExamplesPerSecond, run.ModelReference, run.Error, run.CreatedAt, run.UpdatedAt, run.Attempts);

    /// <summary>The caller's team's stored model versions (the bundled model and Hub models are open to every team and not stored here).</summary>
    /// <summary>The key of the model list: name, then version.</summary>
    public sealed record ModelKey(string Name, int Version);

    private static async Task<Page<ModelVersionResponse>> ListModelsAsync(
        Caller caller, PageRequest<ModelKey> page, TrainingDbContext database, CancellationToken cancellationToken)
    {
        var models = database.ModelVersions.AsNoTracking().Where(m => m.TeamId == caller.TeamId);
        if (page.After is { } after)
            models = models.Where(m => EF.Functions.GreaterThan(ValueTuple.Create(m.Name, m.Version), ValueTuple.Create(after.Name, after.Version)));
        var rows = await models.OrderBy(m => m.Name).ThenBy(m => m.Version).Take(page.Fetch).ToListAsync(cancellationToken);
        return page.ToPage(rows, m => new ModelKey(m.Name, m.Version),
            m => new ModelVersionResponse(m.Name, m.Version, m.Reference, m.TrainingRunId, m.TrainingExamples, m.CreatedAt));
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,99}$")]
    private static partial Regex ModelNamePattern();
}
