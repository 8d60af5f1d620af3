namespace VqaPipeline.Training.Data;

/// <summary>Where a training run is.</summary>
public enum TrainingRunStatus
{
    /// <summary>Accepted, waiting for its dataset (a collection's labels, which ingestion writes) or for a worker.</summary>
    Queued,

    /// <summary>A worker is training it.</summary>
    Running,

    /// <summary>Its model is stored; <see cref="TrainingRun.ModelReference"/> names it.</summary>
    Completed,

    /// <summary>It cannot finish; <see cref="TrainingRun.Error"/> says why.</summary>
    Failed,

    /// <summary>Cancelled by a client (<c>POST /training-runs/{id}/cancel</c>); no model is stored.</summary>
    Cancelled,
}

/// <summary>One request to train a model, and how far it got.</summary>
public sealed class TrainingRun
{
    /// <summary>The run's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The team that asked for it; <see cref="Guid.Empty"/> for runs from before teams.</summary>
    public Guid TeamId { get; set; }

    /// <summary>The name the model is stored under.</summary>
    public required string ModelName { get; set; }

    /// <summary>The <c>TrainingRequested</c> message as JSON: everything needed to (re)start the run.</summary>
    public required string Request { get; set; }

    /// <summary>
    /// Where the run's dataset is stored, once there is one: the request's own for a stored dataset, the one the
    /// ingestion service wrote for a collection's labels. A worker takes only runs that have it.
    /// </summary>
    public string? DatasetPrefix { get; set; }

    /// <summary>Where the run is.</summary>
    public TrainingRunStatus Status { get; set; } = TrainingRunStatus.Queued;

    /// <summary>Optimizer steps done.</summary>
    public int Step { get; set; }

    /// <summary>Optimizer steps in the whole run, once known.</summary>
    public int TotalSteps { get; set; }

    /// <summary>The loss of the last reported step.</summary>
    public double? Loss { get; set; }

    /// <summary>Training throughput at the last report.</summary>
    public double? ExamplesPerSecond { get; set; }

    /// <summary>The worker training it (host name and process id), while it runs.</summary>
    public string? Worker { get; set; }

    /// <summary>
    /// How many times a worker took the run. Each claim counts one; a run that reaches <c>Training:MaxAttempts</c> without
    /// finishing fails with its last attempt's error.
    /// </summary>
    public int Attempts { get; set; }

    /// <summary>
    /// The fencing token: raised by every claim, by cancelling and by giving up. A worker writes the run (progress,
    /// heartbeat, its end, the model version) only while the token is still the one its claim got.
    /// </summary>
    public long ClaimToken { get; set; }

    /// <summary>When the worker last reported: a running run whose worker went silent is taken over.</summary>
    public DateTimeOffset? HeartbeatAt { get; set; }

    /// <summary>
    /// The version number the run stores its model under, reserved before the upload (outside the completion's
    /// transaction) so that a worker taking the run over uploads under the same number.
    /// </summary>
    public int? ReservedVersion { get; set; }

    /// <summary>The trained model (<c>models/{name}/{version}</c>), once completed.</summary>
    public string? ModelReference { get; set; }

    /// <summary>Why the run failed; while it is queued again, why its last attempt ended.</summary>
    public string? Error { get; set; }

    /// <summary>When it was requested.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A model stored in object storage under <see cref="ObjectPrefix"/>, usable by question jobs.</summary>
public sealed class ModelVersion
{
    /// <summary>The row's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The team whose run trained it (only that team lists it); <see cref="Guid.Empty"/> for models from before teams.</summary>
    public Guid TeamId { get; set; }

    /// <summary>The model's name.</summary>
    public required string Name { get; set; }

    /// <summary>1 for a name's first model in its team, then 2, 3, …</summary>
    public int Version { get; set; }

    /// <summary>
    /// The storage prefix of the Hugging Face model folder: <c>models/{team}/{name}/{version}</c>, or
    /// <c>models/{name}/{version}</c> for the team <see cref="Guid.Empty"/> (as every model was stored before teams).
    /// </summary>
    public required string ObjectPrefix { get; set; }

    /// <summary>The training run that produced it, if any.</summary>
    public Guid? TrainingRunId { get; set; }

    /// <summary>How many examples it was trained on.</summary>
    public int TrainingExamples { get; set; }

    /// <summary>When it was stored.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>What a question job of its team names to use it.</summary>
    public string Reference => $"models/{Name}/{Version}";
}
