namespace VqaPipeline.Contracts.V1;

/// <summary>
/// A client asked for a model to be trained. Published by the training API (<c>POST /training-runs</c>); the training
/// service runs it (when the data is a collection's labels, once the ingestion service has prepared them, see
/// <see cref="TrainingDatasetPrepared"/>), reports <see cref="TrainingProgressed"/>, and ends with <see cref="ModelTrained"/> or
/// <see cref="TrainingFailed"/>.
/// </summary>
/// <param name="RunId">The training run's id.</param>
/// <param name="ModelName">The name the trained model is stored under (<c>models/{name}/{version}</c>).</param>
/// <param name="Dataset">What to train on.</param>
/// <param name="Start">What the weights start from.</param>
/// <param name="Settings">The hyper-parameters.</param>
/// <param name="RequestedAt">When the run was accepted.</param>
[PublishedBy(Services.Training)]
public sealed record TrainingRequested(
    Guid RunId,
    string ModelName,
    TrainingDataset Dataset,
    TrainingStart Start,
    TrainingSettings Settings,
    DateTimeOffset RequestedAt)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}

/// <summary>
/// Training data: the human labels of a collection (<see cref="CollectionId"/>), or a VQA dataset folder stored in
/// object storage under <see cref="ObjectPrefix"/> (any layout the engine reads). Exactly one is set.
/// </summary>
public sealed record TrainingDataset(Guid? CollectionId, string? ObjectPrefix);

/// <summary>
/// Where the weights start: a ViLT checkpoint (<see cref="BaseModel"/>: a folder, a Hub id or
/// <c>models/{name}/{version}</c>) whose classifier is replaced by one sized to the answers, or a ViLT configuration
/// (<see cref="ConfigJson"/>, every weight initialised fresh) with the tokenizer and image processor of
/// <see cref="TokenizerModel"/>.
/// </summary>
public sealed record TrainingStart(string? BaseModel, string? ConfigJson, string? TokenizerModel);

/// <summary>
/// Hyper-parameters; the defaults of the Hugging Face VQA guide are batch 4, 20 epochs, lr 5e-5. <c>MaxMemoryMb</c>
/// bounds the training worker's resident memory while it trains the run (under the worker's own bound, if any).
/// </summary>
public sealed record TrainingSettings(
    int Epochs,
    int? MaxSteps,
    int BatchSize,
    int GradientAccumulation,
    double LearningRate,
    double WeightDecay,
    int WarmupSteps,
    long Seed,
    string DType,
    int SaveEvery,
    int? MaxMemoryMb = null);

/// <summary>A training run moved on.</summary>
[PublishedBy(Services.Training)]
public sealed record TrainingProgressed(Guid RunId, int Step, int TotalSteps, double Loss, double ExamplesPerSecond)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}

/// <summary>A training run finished and its model is stored as <c>models/{ModelName}/{Version}/</c>.</summary>
/// <param name="RunId">The run from <see cref="TrainingRequested.RunId"/>.</param>
/// <param name="ModelName">The model's name.</param>
/// <param name="Version">The version number, 1 for a name's first model.</param>
/// <param name="ModelReference">What a question job names to use it: <c>models/{name}/{version}</c>.</param>
/// <param name="TrainingExamples">How many examples it was trained on.</param>
/// <param name="TrainedAt">When the model was stored.</param>
[PublishedBy(Services.Training)]
public sealed record ModelTrained(
    Guid RunId, string ModelName, int Version, string ModelReference, int TrainingExamples, DateTimeOffset TrainedAt)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}

/// <summary>A training run cannot finish; <see cref="Reason"/> says why in one line.</summary>
[PublishedBy(Services.Training)]
public sealed record TrainingFailed(Guid RunId, string Reason)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}

/// <summary>
/// The labels of a collection, written as a VQA dataset (<c>metadata.jsonl</c> and the model-ready images) under
/// <see cref="ObjectPrefix"/> for a training run. The ingestion service, which owns labels and images, answers every
/// <see cref="TrainingRequested"/> whose dataset is a collection with this or <see cref="TrainingDatasetRejected"/>.
/// </summary>
/// <param name="RunId">The run from <see cref="TrainingRequested.RunId"/>.</param>
/// <param name="CollectionId">The collection whose labels these are.</param>
/// <param name="ObjectPrefix">Where the dataset is stored.</param>
/// <param name="Examples">Labels written (one per image and question).</param>
/// <param name="Skipped">Labels left out because their image is not ready.</param>
[PublishedBy(Services.Ingestion)]
public sealed record TrainingDatasetPrepared(Guid RunId, Guid CollectionId, string ObjectPrefix, int Examples, int Skipped)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}

/// <summary>A collection's labels cannot make a dataset for a run (no labels, none on a ready image); the run fails with <see cref="Reason"/>.</summary>
[PublishedBy(Services.Ingestion)]
public sealed record TrainingDatasetRejected(Guid RunId, Guid CollectionId, string Reason)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}
