namespace VqaPipeline.Ml.Data;

/// <summary>
/// One question about one image, whatever file layout it came from. Images are referenced, not decoded:
/// <see cref="VqaDataset.LoadImage"/> decodes one when it is needed.
/// </summary>
public sealed record VqaExample
{
    /// <summary>The dataset's question id; for layouts without one, the example's 0-based position in its file.</summary>
    public required long QuestionId { get; init; }

    public required ImageReference Image { get; init; }

    public required string Question { get; init; }

    /// <summary>The human answers as written (not normalized); empty when the dataset has none (test splits).</summary>
    public IReadOnlyList<HumanAnswer> Answers { get; init; } = [];

    /// <summary>"yes/no", "number" or "other" in VQA v2, when the dataset says.</summary>
    public string? AnswerType { get; init; }

    /// <summary>The question's first words as classified by VQA v2 ("what color is the"), when the dataset says.</summary>
    public string? QuestionType { get; init; }

    /// <summary>Labels with their soft scores as the dataset gives them (Graphcore/vqa's <c>label.ids</c>/<c>weights</c>).</summary>
    public IReadOnlyList<GivenLabel>? GivenLabels { get; init; }
}

/// <summary>One annotator's answer; <paramref name="Confidence"/> is VQA v2's "yes", "maybe" or "no" where known.</summary>
public sealed record HumanAnswer(string Answer, string? Confidence = null);

/// <summary>
/// A label the dataset assigns, with its weight. <paramref name="Answer"/> is the answer text (given as text, or a
/// numeric id looked up in <see cref="DataOptions.Id2Label"/>); <paramref name="Id"/> is the numeric id when one was given.
/// </summary>
public sealed record GivenLabel(string? Answer, int? Id, float Weight);

/// <summary>Where an example's image is: a file, or encoded bytes stored in the dataset itself (parquet).</summary>
public sealed record ImageReference
{
    private ImageReference(string? path, byte[]? bytes, string? container)
    {
        Path = path;
        Bytes = bytes;
        Container = container;
    }

    /// <summary>The image file; for stored bytes, the file name the dataset recorded, if any.</summary>
    public string? Path { get; }

    /// <summary>The encoded image (JPEG, PNG, …) when the dataset stores it; null for files.</summary>
    public byte[]? Bytes { get; }

    /// <summary>The dataset file holding <see cref="Bytes"/> (a parquet shard).</summary>
    public string? Container { get; }

    public static ImageReference File(string path) => new(path, null, null);

    public static ImageReference Stored(byte[] bytes, string? name, string container) => new(name, bytes, container);

    /// <summary>How messages name the image: the quoted path, or the stored name and the file holding it.</summary>
    public override string ToString() =>
        Bytes is null ? $"'{Path}'" : $"'{Path ?? "(unnamed)"}' stored in '{Container}'";
}
