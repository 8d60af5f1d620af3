using System.Globalization;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Ml;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Storage;

namespace VqaPipeline.Ingestion;

/// <summary>Question jobs: submit, follow, cancel, export the answers.</summary>
internal static class JobEndpoints
{
    /// <summary>The setting naming the model a job without one uses.</summary>
    public const string DefaultModelSetting = "VQA_DEFAULT_MODEL";

    public const int DefaultTopK = 5;
    public const int MaxTopK = 100;
    public const int MaxQuestions = 100;
    public const int MaxQuestionLength = 1000;

    public static void MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/jobs").WithTags("jobs");
        jobs.MapPost("/", SubmitAsync);
        jobs.MapGet("/{jobId:guid}", GetAsync);
        jobs.MapPost("/{jobId:guid}/cancel", CancelAsync);
        jobs.MapGet("/{jobId:guid}/answers", ExportAsync);
    }

    private static async Task<Results<Accepted<JobAcceptedResponse>, BadRequest<ErrorResponse>>> SubmitAsync(
        SubmitJobRequest request, VqaDbContext database, ObjectStore store, IConfiguration configuration,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        if (request.CollectionId is not { } collectionId)
            return BadRequest("give the collection to ask about in 'collectionId'");
        if (!await database.Collections.AnyAsync(c => c.Id == collectionId, cancellationToken))
            return BadRequest($"collection {collectionId} does not exist");
        if (QuestionsProblem(request.Questions) is { } questionsProblem)
            return BadRequest(questionsProblem);
        var topK = request.TopK ?? DefaultTopK;
        if (topK is < 1 or > MaxTopK)
            return BadRequest($"topK must be between 1 and {MaxTopK}, not {topK}");
        var named = !string.IsNullOrWhiteSpace(request.Model) ? request.Model.Trim()
            : configuration[DefaultModelSetting] is { Length: > 0 } configured ? configured.Trim()
            : BundledModels.Default;
        var (model, modelProblem) = await LocateModelAsync(named, store, cancellationToken);
        if (modelProblem is not null)
            return BadRequest(modelProblem);

        var now = clock.GetUtcNow();
        var job = new QuestionJob
        {
            Id = NewId.NextGuid(), CollectionId = collectionId, Questions = [.. request.Questions!.Select(q => q!)], Model = model!,
            TopK = topK, CreatedAt = now, UpdatedAt = now,
        };
        var message = new QuestionJobSubmitted(job.Id, collectionId, job.Questions, job.Model, topK, now);
        database.QuestionJobs.Add(job);
        database.AddOutgoing(message, collectionId, jobId: job.Id);
        await database.SaveChangesAsync(cancellationToken);
        return TypedResults.Accepted($"/jobs/{job.Id}", new JobAcceptedResponse(job.Id, $"/jobs/{job.Id}"));
    }

    private static async Task<Results<Ok<JobResponse>, NotFound<ErrorResponse>>> GetAsync(
        Guid jobId, VqaDbContext database, TimeProvider clock, CancellationToken cancellationToken)
    {
        var job = await database.QuestionJobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        return job is null ? UnknownJob(jobId) : TypedResults.Ok(await DescribeAsync(database, job, clock.GetUtcNow(), cancellationToken));
    }

    private static async Task<JobResponse> DescribeAsync(
        VqaDbContext database, QuestionJob job, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var failures = await database.JobImages.AsNoTracking()
            .Where(i => i.JobId == job.Id && i.State == JobImageState.Failed)
            .Join(database.Images, j => j.ImageId, i => i.Id, (j, i) => new { i.CreatedAt, Failure = new FailedImage(i.Id, i.FileName, j.Reason ?? "") })
            .OrderBy(f => f.CreatedAt).Select(f => f.Failure)
            .Take(JobResponse.MaxFailuresShown)
            .ToListAsync(cancellationToken);
        return JobResponse.Of(job, failures, now);
    }

    private static async Task<Results<Ok<JobResponse>, NotFound<ErrorResponse>, Conflict<ErrorResponse>>> CancelAsync(
        Guid jobId, VqaDbContext database, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        // One conditional update, so a job the worker completes at the same moment is never reported as cancelled.
        await database.QuestionJobs
            .Where(j => j.Id == jobId && (j.Status == JobStatus.Pending || j.Status == JobStatus.Running))
            .ExecuteUpdateAsync(set => set
                .SetProperty(j => j.Status, JobStatus.Cancelled)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.UpdatedAt, now), cancellationToken);
        var job = await database.QuestionJobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null)
            return UnknownJob(jobId);
        if (job.Status != JobStatus.Cancelled)
            return TypedResults.Conflict(new ErrorResponse($"job {jobId} is already {Lower(job.Status)}"));
        return TypedResults.Ok(await DescribeAsync(database, job, now, cancellationToken));
    }

    private static async Task<IResult> ExportAsync(
        Guid jobId, string? format, HttpContext http, VqaDbContext database, CancellationToken cancellationToken)
    {
        format = (format ?? "jsonl").ToLowerInvariant();
        if (format is not ("jsonl" or "csv"))
            return BadRequest($"format '{format}' is not one of jsonl, csv");
        if (!await database.QuestionJobs.AnyAsync(j => j.Id == jobId, cancellationToken))
            return UnknownJob(jobId);

        var rows = database.JobAnswers.AsNoTracking()
            .Where(a => a.JobId == jobId)
            .Join(database.Images, a => a.ImageId, i => i.Id, (a, i) => new { Answer = a, i.FileName, i.CreatedAt })
            .OrderBy(r => r.CreatedAt).ThenBy(r => r.Answer.ImageId).ThenBy(r => r.Answer.QuestionIndex)
            .ThenBy(r => r.Answer.Rank)
            .Select(r => new ExportedAnswer(r.Answer.ImageId, r.FileName, r.Answer.Question, r.Answer.Rank,
                r.Answer.Answer, r.Answer.Score, r.Answer.ModelVersion))
            .AsAsyncEnumerable();

        var response = http.Response;
        response.ContentType = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"job-{jobId}-answers.{format}\"";
        await using var writer = new StreamWriter(response.Body, new UTF8Encoding(false), 64 * 1024);
        if (format == "csv")
            await writer.WriteAsync(CsvExport.Header + "\n");
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            await writer.WriteAsync(format == "csv" ? CsvExport.Line(row) : JsonSerializer.Serialize(row, JsonSerializerOptions.Web));
            await writer.WriteAsync('\n');
        }
        return TypedResults.Empty;
    }

    private static string? QuestionsProblem(IReadOnlyList<string?>? questions)
    {
        if (questions is not { Count: > 0 })
            return "give one or more questions in 'questions'";
        if (questions.Count > MaxQuestions)
            return $"a job has at most {MaxQuestions} questions, not {questions.Count}";
        for (var i = 0; i < questions.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(questions[i]))
                return $"question {i + 1} is empty: ask something about the images";
            if (questions[i]!.Length > MaxQuestionLength)
                return $"question {i + 1} is longer than {MaxQuestionLength} characters";
        }
        return null;
    }

    /// <summary>
    /// The model as the worker will find it (a folder as its full path), or why there is none: a folder needs a
    /// config.json, a Hub id must already be in the local Hub cache (no download here), and <c>models/{name}/{version}</c>
    /// must be in object storage.
    /// </summary>
    internal static async Task<(string? Model, string? Problem)> LocateModelAsync(
        string named, ObjectStore store, CancellationToken cancellationToken)
    {
        if (StoredModel.TryParse(named) is { Prefix: var prefix })
        {
            return await store.StatAsync($"{prefix}/{ModelResolver.ConfigFile}", cancellationToken) is null
                ? (null, $"model '{named}' is not in object storage: no {prefix}/{ModelResolver.ConfigFile} in bucket {store.Bucket}")
                : (prefix, null);
        }
        // By name, not by this host's path: every host has the bundled models next to its program.
        if (!Directory.Exists(named) && BundledModels.Find(named) is not null)
            return (named, null);
        if (Directory.Exists(named))
        {
            var folder = Path.GetFullPath(named);
            return File.Exists(Path.Combine(folder, ModelResolver.ConfigFile))
                ? (folder, null)
                : (null, $"model folder '{named}' has no {ModelResolver.ConfigFile}");
        }
        try
        {
            await ModelResolver.ResolveAsync(named, HubOptions.FromEnvironment() with { Offline = true }, cancellationToken);
            return (named, null);
        }
        catch (VqaPipelineException exception)
        {
            return (null, $"model '{named}' is neither a model folder, nor a bundled model, nor models/{{name}}/{{version}} in object storage, "
                          + $"nor a Hub model in the local cache: {exception.Message}");
        }
    }

    private static string Lower(JobStatus status) => status.ToString().ToLowerInvariant();

    private static BadRequest<ErrorResponse> BadRequest(string reason) => TypedResults.BadRequest(new ErrorResponse(reason));

    private static NotFound<ErrorResponse> UnknownJob(Guid jobId) =>
        TypedResults.NotFound(new ErrorResponse($"job {jobId} does not exist"));
}

/// <summary>RFC 4180 CSV of exported answers: fields with a comma, quote or line break are quoted, quotes doubled.</summary>
internal static class CsvExport
{
    public const string Header = "imageId,fileName,question,rank,answer,score,modelVersion";

    public static string Line(ExportedAnswer row) => string.Join(',',
        row.ImageId.ToString(), Field(row.FileName), Field(row.Question), row.Rank.ToString(CultureInfo.InvariantCulture),
        Field(row.Answer), row.Score.ToString("R", CultureInfo.InvariantCulture), Field(row.ModelVersion));

    public static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
