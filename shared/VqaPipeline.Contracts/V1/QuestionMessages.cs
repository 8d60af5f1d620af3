namespace VqaPipeline.Contracts.V1;

/// <summary>A client asked one question about every ready image of a collection (or about one image).</summary>
/// <param name="JobId">The job's id; every <see cref="AnswersProduced"/> for it carries the same id.</param>
/// <param name="CollectionId">The collection to ask about.</param>
/// <param name="ImageId">One image of the collection, or <c>null</c> for all its ready images.</param>
/// <param name="Question">The question in natural language.</param>
/// <param name="TopK">How many ranked answers to produce per image.</param>
/// <param name="SubmittedAt">When the job was accepted.</param>
public sealed record QuestionJobSubmitted(
    Guid JobId,
    Guid CollectionId,
    Guid? ImageId,
    string Question,
    int TopK,
    DateTimeOffset SubmittedAt)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;
}

/// <summary>The answers a model gave for one image of a question job.</summary>
/// <param name="JobId">The job from <see cref="QuestionJobSubmitted.JobId"/>.</param>
/// <param name="CollectionId">The collection the image belongs to.</param>
/// <param name="ImageId">The image the answers are about.</param>
/// <param name="ModelVersion">The model (name and revision) that produced the answers.</param>
/// <param name="Answers">Answers ranked best first.</param>
public sealed record AnswersProduced(
    Guid JobId,
    Guid CollectionId,
    Guid ImageId,
    string ModelVersion,
    IReadOnlyList<Answer> Answers)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;
}

/// <summary>One ranked answer.</summary>
/// <param name="Text">The answer text.</param>
/// <param name="Score">The model's score for it, in [0, 1].</param>
public sealed record Answer(string Text, double Score);
