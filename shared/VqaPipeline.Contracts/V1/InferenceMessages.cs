namespace VqaPipeline.Contracts.V1;

/// <summary>
/// A command inside the inference service: answer every question of <see cref="JobId"/> about these images. Sent to
/// the inference queue, which every inference worker consumes (competing consumers share a job this way).
/// </summary>
/// <param name="JobId">The job from <see cref="QuestionJobSubmitted.JobId"/>.</param>
/// <param name="ImageIds">Ready images of the job's collection, a handful per command.</param>
[PublishedBy(Services.Inference)]
public sealed record ImageBatchRequested(Guid JobId, IReadOnlyList<Guid> ImageIds)
{
    /// <summary>Version of this message's shape; it changes only with the namespace (<c>V1</c>, <c>V2</c>, …).</summary>
    public int SchemaVersion { get; init; } = ContractVersion.Current;

    /// <summary>The team that owns what this message is about; <see cref="System.Guid.Empty"/> for what was stored before teams.</summary>
    public Guid TeamId { get; init; }
}
