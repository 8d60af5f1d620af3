using VqaPipeline.Inference.Data;

namespace VqaPipeline.Inference;

/// <summary>The body of <c>POST /jobs</c>; <c>model</c> and <c>topK</c> are optional.</summary>
public sealed record SubmitJobRequest(Guid? CollectionId, IReadOnlyList<string?>? Questions, string? Model, int? TopK);

/// <summary>A job was accepted; <see cref="StatusUrl"/> follows it.</summary>
public sealed record JobAcceptedResponse(Guid Id, string StatusUrl);

/// <summary>
/// A job's state; <see cref="EtaSeconds"/> is an estimate from the rate so far, null until there is one;
/// <see cref="Failures"/> names the images that could not be answered (the first <see cref="MaxFailuresShown"/>).
/// </summary>
public sealed record JobResponse(
    Guid Id, Guid CollectionId, string Status, int Total, int Done, int Failed, double? EtaSeconds,
    IReadOnlyList<string> Questions, string Model, string? ModelVersion, int TopK, string? FailureReason,
    IReadOnlyList<FailedImage> Failures, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    public const int MaxFailuresShown = 100;

    public static JobResponse Of(QuestionJob job, IReadOnlyList<FailedImage> failures, DateTimeOffset now) =>
        new(job.Id, job.CollectionId, job.Status.Text(), job.Total, job.Done, job.Failed,
            EtaOf(job, now), job.Questions, job.Model, job.ModelVersion, job.TopK, job.FailureReason, failures,
            job.CreatedAt, job.StartedAt, job.FinishedAt);

    private static double? EtaOf(QuestionJob job, DateTimeOffset now)
    {
        if (job.Status is JobStatus.Completed)
            return 0;
        var finished = job.Done + job.Failed;
        if (job.Status is not JobStatus.Running || job.StartedAt is not { } started || finished == 0)
            return null;
        var perImage = (now - started).TotalSeconds / finished;
        return Math.Round(Math.Max(0, job.Total - finished) * perImage, 1);
    }
}

/// <summary>One line of <c>GET /jobs/{id}/answers</c>.</summary>
public sealed record ExportedAnswer(
    Guid ImageId, string FileName, string Question, int Rank, string Answer, double Score, string ModelVersion);

/// <summary>An image of a job that could not be answered, and why.</summary>
public sealed record FailedImage(Guid ImageId, string FileName, string Reason);
