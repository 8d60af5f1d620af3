using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Inference.Data;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Storage;

namespace VqaPipeline.Inference;

/// <summary>
/// The jobs API: submit, follow, cancel, export the answers — each only through the gateway, for the caller's team: a
/// job or collection of another team answers exactly as an unknown one (404, the same sentence).
/// </summary>
internal static class JobEndpoints
{
    /// <summary>The setting naming the model a job without one uses.</summary>
    public const string DefaultModelSetting = "VQA_DEFAULT_MODEL";

    public const int DefaultTopK = 5;
    public const int MaxTopK = 100;
    public const int MaxQuestions = 100;

    /// <summary>
    /// A team's question jobs pending or running (<c>Quotas:JobsInFlight</c>); a job of a small collection ends in
    /// seconds, a large one in minutes: half a minute lets a client try again without hammering.
    /// </summary>
    public static readonly TeamQuota JobsInFlight = new("JobsInFlight", 20, "question jobs pending or running", TimeSpan.FromSeconds(30));

    public static void MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/jobs").WithTags("jobs").RequireCaller();
        jobs.MapPost("/", SubmitAsync);
        jobs.MapGet("/{jobId:guid}", GetAsync);
        jobs.MapPost("/{jobId:guid}/cancel", CancelAsync);
        jobs.MapGet("/{jobId:guid}/answers", ExportAsync);
    }

    private static async Task<IResult> SubmitAsync(
        SubmitJobRequest request, Caller caller, InferenceDbContext database, CollectionsClient collections, ModelLocator models,
        IConfiguration configuration, IOptions<InferenceOptions> options, HttpResponse response, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (request.CollectionId is not { } collectionId)
            return BadRequest("give the collection to ask about in 'collectionId'");
        if (QuestionsProblem(request.Questions) is { } questionsProblem)
            return BadRequest(questionsProblem);
        var topK = request.TopK ?? DefaultTopK;
        if (topK is < 1 or > MaxTopK)
            return BadRequest($"topK must be between 1 and {MaxTopK}, not {topK}");
        var answersPerImage = request.Questions!.Count * topK;
        if (answersPerImage > options.Value.MaxAnswersPerImage)
            return BadRequest($"{request.Questions.Count} questions × topK {topK} = {answersPerImage} answers per image, more than {options.Value.MaxAnswersPerImage}: ask fewer questions or a smaller topK");
        if (await JobsInFlight.RefusalAsync(configuration, caller, response, token => database.QuestionJobs
                .CountAsync(j => j.TeamId == caller.TeamId && (j.Status == JobStatus.Pending || j.Status == JobStatus.Running), token),
                cancellationToken) is { } overQuota)
            return overQuota;
        var named = !string.IsNullOrWhiteSpace(request.Model) ? request.Model.Trim()
            : configuration[DefaultModelSetting] is { Length: > 0 } configured ? configured.Trim()
            : BundledModels.Default;
        if (TextLimits.ModelProblem(named) is { } modelTooLong)
            return BadRequest(modelTooLong);
        var (model, modelProblem) = await models.CheckAsync(named, caller.TeamId, cancellationToken);
        if (model is null)
            return BadRequest(modelProblem!);
        CollectionSummary? collection;
        try
        {
            collection = await collections.GetAsync(collectionId, caller, cancellationToken);
        }
        catch (ServiceUnavailableException exception)
        {
            return ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, exception.Message);
        }
        if (collection is null)
            return ApiProblem.NotFound($"collection {collectionId} does not exist");

        var now = clock.GetUtcNow();
        var job = new QuestionJob
        {
            Id = NewId.NextGuid(), TeamId = caller.TeamId, CollectionId = collectionId, Questions = [.. request.Questions!.Select(q => q!)], Model = model.Text,
            TopK = topK, ExpectedImages = collection.Images, Total = collection.Images, CreatedAt = now, UpdatedAt = now,
        };
        database.QuestionJobs.Add(job);
        database.AddOutgoing(new QuestionJobSubmitted(job.Id, collectionId, job.Questions, job.Model, topK, now) { TeamId = caller.TeamId });
        await database.SaveChangesAsync(cancellationToken);
        return TypedResults.Accepted($"/jobs/{job.Id}", new JobAcceptedResponse(job.Id, $"/jobs/{job.Id}"));
    }

    private static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetAsync(
        Guid jobId, Caller caller, InferenceDbContext database, TimeProvider clock, CancellationToken cancellationToken)
    {
        var job = await TeamJobAsync(database, jobId, caller, cancellationToken);
        return job is null ? UnknownJob(jobId) : TypedResults.Ok(await DescribeAsync(database, job, clock.GetUtcNow(), cancellationToken));
    }

    private static async Task<JobResponse> DescribeAsync(
        InferenceDbContext database, QuestionJob job, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var failures = await database.JobImages.AsNoTracking()
            .Where(i => i.JobId == job.Id && i.State == JobImageState.Failed)
            .Join(database.Images, j => j.ImageId, i => i.Id, (j, i) => new { i.CreatedAt, Failure = new FailedImage(i.Id, i.FileName, j.Reason ?? "") })
            .OrderBy(f => f.CreatedAt).Select(f => f.Failure)
            .Take(JobResponse.MaxFailuresShown)
            .ToListAsync(cancellationToken);
        return JobResponse.Of(job, failures, now);
    }

    private static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> CancelAsync(
        Guid jobId, Caller caller, InferenceDbContext database, TimeProvider clock, CancellationToken cancellationToken)
    {
        // Another team's job is left as it is and answered as unknown.
        if (await TeamJobAsync(database, jobId, caller, cancellationToken) is null)
            return UnknownJob(jobId);
        var now = clock.GetUtcNow();
        // Ended in one conditional update, so a job the worker completes at the same moment is never reported as cancelled.
        await using (var transaction = await database.Database.BeginTransactionAsync(cancellationToken))
        {
            await JobProgress.EndAsync(database, jobId, JobStatus.Cancelled, null, cancellationToken);
            await database.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        var job = await database.QuestionJobs.AsNoTracking().SingleAsync(j => j.Id == jobId, cancellationToken);
        if (job.Status != JobStatus.Cancelled)
            return ApiProblem.Conflict($"job {jobId} is already {job.Status.Text()}");
        return TypedResults.Ok(await DescribeAsync(database, job, now, cancellationToken));
    }

    private static async Task<IResult> ExportAsync(
        Guid jobId, string? format, Caller caller, HttpContext http, InferenceDbContext database, CancellationToken cancellationToken)
    {
        format = (format ?? "jsonl").ToLowerInvariant();
        if (format is not ("jsonl" or "csv"))
            return BadRequest($"format '{format}' is not one of jsonl, csv");
        if (await TeamJobAsync(database, jobId, caller, cancellationToken) is null)
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
            // The limit the index holds its questions to, so a job never produces answers that cannot be indexed.
            if (TextLimits.QuestionProblem(questions[i]!) is { } tooLong)
                return $"question {i + 1}: {tooLong}";
        }
        return null;
    }

    private static ProblemHttpResult BadRequest(string reason) => ApiProblem.BadRequest(reason);

    /// <summary>The job, when it is <paramref name="caller"/>'s team's; another team's is <c>null</c> like an unknown one.</summary>
    private static Task<QuestionJob?> TeamJobAsync(InferenceDbContext database, Guid jobId, Caller caller, CancellationToken cancellationToken) =>
        database.QuestionJobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId && j.TeamId == caller.TeamId, cancellationToken);

    private static ProblemHttpResult UnknownJob(Guid jobId) =>
        ApiProblem.NotFound($"job {jobId} does not exist");
}

/// <summary>
/// RFC 4180 CSV of exported answers: fields with a comma, quote or line break are quoted, quotes doubled. A text
/// field that a spreadsheet would run as a formula (it starts with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, a tab or a
/// carriage return: an uploaded file named <c>=HYPERLINK(…).png</c>, say) gets a leading <c>'</c>, which spreadsheets
/// show as text; the JSON lines export keeps every value as it is.
/// </summary>
internal static class CsvExport
{
    private static readonly SearchValues<char> FormulaStarts = SearchValues.Create("=+-@\t\r");

    public const string Header = "imageId,fileName,question,rank,answer,score,modelVersion";

    public static string Line(ExportedAnswer row) => string.Join(',',
        row.ImageId.ToString(), Field(row.FileName), Field(row.Question), row.Rank.ToString(CultureInfo.InvariantCulture),
        Field(row.Answer), row.Score.ToString("R", CultureInfo.InvariantCulture), Field(row.ModelVersion));

    public static string Field(string value)
    {
        if (value.Length > 0 && FormulaStarts.Contains(value[0]))
            value = "'" + value;
        return value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
    }
}
