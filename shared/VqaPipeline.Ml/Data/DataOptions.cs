using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Data;

/// <summary>What to do with an example that cannot be used (missing or unreadable image, malformed record).</summary>
public enum BadExamplePolicy
{
    /// <summary>Stop with a <see cref="BadExampleException"/> naming the question and the file.</summary>
    Fail,
    /// <summary>Leave it out and count it in <see cref="VqaDataset.Skipped"/>.</summary>
    Skip,
}

/// <summary>How <see cref="VqaDataset.Open"/> reads a dataset folder.</summary>
public sealed record DataOptions
{
    public BadExamplePolicy OnBadExample { get; init; } = BadExamplePolicy.Fail;

    /// <summary>
    /// Which split to read when the folder holds several (shards named <c>{split}-00000-of-00004.parquet</c>, or
    /// <c>{split}.jsonl</c>); null reads the only split there is.
    /// </summary>
    public string? Split { get; init; }

    /// <summary>Answer text for numeric label ids (Graphcore/vqa style data), e.g. a model's <c>config.id2label</c>.</summary>
    public IReadOnlyDictionary<int, string>? Id2Label { get; init; }

    /// <summary>Limits for decoding images in <see cref="VqaDataset.LoadImage"/>.</summary>
    public ImageLoadOptions ImageLoading { get; init; } = new();
}
