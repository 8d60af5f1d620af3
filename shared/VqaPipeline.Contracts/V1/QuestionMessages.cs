namespace VqaPipeline.Contracts.V1;

/// <summary>
/// A client asked questions about every ready image of a collection. Published by the jobs API (inference) when a job
/// is accepted; the inference service answers every (image, question) pair with <see cref="AnswersProduced"/>, one
/// message per image. Images that become ready in the collection while the job runs are included.
/// </summary>
/// <param name="JobId">The job's id; every <see cref="AnswersProduced"/> for it carries the same id.</param>
/// <param name="CollectionId">The collection to ask about.</param>
/// <param name="Questions">The questions in natural language, in the order the client gave them.</param>
/// <param name="Model">
/// The model as the client named it: a folder, a Hub id (<c>org/name[@revision]</c>) or <c>models/{name}/{version}</c>
/// in object storage.
/// </param>
/// <param name="TopK">How many ranked answers to produce per image and question.</param>
/// <param name="SubmittedAt">When the job was accepted.</param>
[PublishedBy(Services.Inference)]
public sealed record QuestionJobSubmitted(
    Guid JobId,
    Guid CollectionId,
    IReadOnlyList<string> Questions,
    string Model,
    int TopK,
    DateTimeOffset SubmittedAt)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}

/// <summary>The answers a model gave to every question of a job about one image.</summary>
/// <param name="JobId">The job from <see cref="QuestionJobSubmitted.JobId"/>.</param>
/// <param name="CollectionId">The collection the image belongs to.</param>
/// <param name="ImageId">The image the answers are about.</param>
/// <param name="ModelVersion">
/// The model that produced the answers, stable across processes (for example <c>models/shapes/3</c> or
/// <c>dandelin/vilt-b32-finetuned-vqa@&lt;commit&gt;</c>); answers of different versions are kept side by side.
/// </param>
/// <param name="Questions">Each question of the job with its answers, in the job's question order.</param>
/// <param name="ProducedAt">When the inference service stored the answers.</param>
[PublishedBy(Services.Inference)]
public sealed record AnswersProduced(
    Guid JobId,
    Guid CollectionId,
    Guid ImageId,
    string ModelVersion,
    IReadOnlyList<QuestionAnswers> Questions,
    DateTimeOffset ProducedAt)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }

    /// <summary>The file name the image was uploaded under; null in messages of older senders.</summary>
    public string? FileName { get; init; }

    /// <summary>Where the image's original is stored (<c>originals/{sha256}</c>); null in messages of older senders.</summary>
    public string? ObjectKey { get; init; }
}

/// <summary>One question with its answers, ranked best first.</summary>
/// <param name="Question">The question as the client asked it.</param>
/// <param name="Answers">The top-k answers, best first (rank 1 is the first).</param>
public sealed record QuestionAnswers(string Question, IReadOnlyList<Answer> Answers);

/// <summary>One ranked answer.</summary>
/// <param name="Text">The answer text.</param>
/// <param name="Score">The model's score for it, in [0, 1].</param>
public sealed record Answer(string Text, double Score);

/// <summary>
/// A question job reached its final status: every image of its collection answered or failed, cancelled by a client,
/// or failed as a whole. The indexing service learns from it when a search's job is over.
/// </summary>
/// <param name="JobId">The job from <see cref="QuestionJobSubmitted.JobId"/>.</param>
/// <param name="CollectionId">The collection it asked about.</param>
/// <param name="Status"><c>completed</c>, <c>failed</c> or <c>cancelled</c>.</param>
/// <param name="ModelVersion">The version that answered, or the model as named when none was loaded.</param>
/// <param name="Answered">
/// How many images it answered (each announced by one <see cref="AnswersProduced"/>): a count, not a list, so that a job
/// over millions of images still ends with a small message.
/// </param>
/// <param name="FailureReason">Why the job failed as a whole, when it did.</param>
/// <param name="EndedAt">When it ended.</param>
[PublishedBy(Services.Inference)]
public sealed record QuestionJobEnded(
    Guid JobId,
    Guid CollectionId,
    string Status,
    string ModelVersion,
    int Answered,
    string? FailureReason,
    DateTimeOffset EndedAt)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}
