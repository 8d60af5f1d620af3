namespace VqaPipeline.Inference.Data;

/// <summary>Where a question job is in its life.</summary>
public enum JobStatus
{
    /// <summary>Accepted; the inference service has not picked it up yet.</summary>
    Pending,

    /// <summary>Images are being answered.</summary>
    Running,

    /// <summary>Every image of the collection is answered or failed.</summary>
    Completed,

    /// <summary>The job as a whole could not run (for example its model would not load); see the failure reason.</summary>
    Failed,

    /// <summary>Stopped by a client; answers stored so far are kept.</summary>
    Cancelled,
}

/// <summary>The one place that says which statuses are final.</summary>
public static class JobStatuses
{
    /// <summary>Statuses in which a job still takes work.</summary>
    public static readonly JobStatus[] Active = [JobStatus.Pending, JobStatus.Running];

    /// <summary>Whether a job in <paramref name="status"/> still takes work.</summary>
    public static bool IsActive(this JobStatus status) => status is JobStatus.Pending or JobStatus.Running;

    /// <summary>The status as the API and the messages spell it.</summary>
    public static string Text(this JobStatus status) => status.ToString().ToLowerInvariant();
}

/// <summary>Questions asked of every image of a collection with one model.</summary>
public sealed class QuestionJob
{
    /// <summary>The job's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The team that submitted it (the team of its collection); <see cref="Guid.Empty"/> for jobs from before teams.</summary>
    public Guid TeamId { get; set; }

    /// <summary>The collection asked about.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The questions, in the client's order (a question's index is its place here).</summary>
    public List<string> Questions { get; set; } = [];

    /// <summary>The model as the client named it (folder, Hub id or <c>models/{name}/{version}</c>).</summary>
    public required string Model { get; set; }

    /// <summary>The model version that answers, once the inference service has loaded it.</summary>
    public string? ModelVersion { get; set; }

    /// <summary>Answers kept per image and question.</summary>
    public int TopK { get; set; }

    /// <summary>Where the job is in its life.</summary>
    public JobStatus Status { get; set; } = JobStatus.Pending;

    /// <summary>Images the job covers so far (its collection's images).</summary>
    public int Total { get; set; }

    /// <summary>
    /// Images the collection held when the job was accepted, as its owner (ingestion) counted them: the job is not over
    /// before this service has heard of that many, however late their messages arrive.
    /// </summary>
    public int ExpectedImages { get; set; }

    /// <summary>Images answered.</summary>
    public int Done { get; set; }

    /// <summary>Images that could not be answered (rejected by preprocessing, unreadable).</summary>
    public int Failed { get; set; }

    /// <summary>Why the job failed, when <see cref="Status"/> is <see cref="JobStatus.Failed"/>.</summary>
    public string? FailureReason { get; set; }

    /// <summary>When the job was accepted.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the inference service started it.</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When it reached a final status.</summary>
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Where one image of a job is: sent for answering, answered, or failed.</summary>
public enum JobImageState
{
    /// <summary>Sent to the inference queue, not answered yet.</summary>
    Queued,

    /// <summary>Every question has its answers stored.</summary>
    Answered,

    /// <summary>Cannot be answered; <see cref="JobImage.Reason"/> says why.</summary>
    Failed,
}

/// <summary>One image's state within one job; at most one row per (job, image).</summary>
public sealed class JobImage
{
    /// <summary>The job.</summary>
    public Guid JobId { get; set; }

    /// <summary>The image.</summary>
    public Guid ImageId { get; set; }

    /// <summary>Where the image is within the job.</summary>
    public JobImageState State { get; set; }

    /// <summary>Why the image failed, when it did.</summary>
    public string? Reason { get; set; }

    /// <summary>When the row last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One ranked answer to one question of a job about one image.</summary>
public sealed class JobAnswer
{
    /// <summary>The job.</summary>
    public Guid JobId { get; set; }

    /// <summary>The image.</summary>
    public Guid ImageId { get; set; }

    /// <summary>The question's index in the job's question list.</summary>
    public int QuestionIndex { get; set; }

    /// <summary>The question as asked.</summary>
    public required string Question { get; set; }

    /// <summary>1 for the best answer.</summary>
    public int Rank { get; set; }

    /// <summary>The answer text.</summary>
    public required string Answer { get; set; }

    /// <summary>The model's score, in [0, 1].</summary>
    public double Score { get; set; }

    /// <summary>The model version that produced it.</summary>
    public required string ModelVersion { get; set; }

    /// <summary>When it was stored.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>Where an image of a collection is, as the messages of ingestion and preprocessing told this service.</summary>
public enum CollectionImageStatus
{
    /// <summary>Ingested, not yet preprocessed.</summary>
    Pending,

    /// <summary>Model-ready.</summary>
    Ready,

    /// <summary>Refused by preprocessing.</summary>
    Rejected,
}

/// <summary>
/// This service's view of an image of a collection, kept from <c>ImageIngested</c>, <c>ImagePreprocessed</c> and
/// <c>ImageRejected</c> (whatever order they arrive in): what a job needs to claim, read and name its images.
/// </summary>
public sealed class CollectionImage
{
    /// <summary>The image's id (the ingestion service's).</summary>
    public Guid Id { get; set; }

    /// <summary>The team of its collection, as the image's messages carried it; <see cref="Guid.Empty"/> before teams.</summary>
    public Guid TeamId { get; set; }

    /// <summary>The collection it belongs to.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The file name it was uploaded under (empty until a message has carried it).</summary>
    public string FileName { get; set; } = "";

    /// <summary>Object storage key of the original, once <c>ImageIngested</c> has carried it.</summary>
    public string? ObjectKey { get; set; }

    /// <summary>Pending, ready or rejected.</summary>
    public CollectionImageStatus Status { get; set; }

    /// <summary>Object storage key of the model-ready copy, when ready.</summary>
    public string? PreprocessedObjectKey { get; set; }

    /// <summary>Why preprocessing refused it, when rejected.</summary>
    public string? RejectionReason { get; set; }

    /// <summary>When it was ingested: jobs take and export images in this order.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}
