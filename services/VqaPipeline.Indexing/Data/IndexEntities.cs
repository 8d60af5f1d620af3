namespace VqaPipeline.Indexing.Data;

/// <summary>
/// One ranked answer a model gave to one question about one image: a row of the retrieval index. The natural key
/// (image, normalized question, model version, rank) is unique, so the same answers indexed twice (a redelivered or
/// replayed <c>AnswersProduced</c>) stay one row.
/// </summary>
public sealed class IndexedAnswer
{
    /// <summary>The row's id.</summary>
    public long Id { get; set; }

    /// <summary>
    /// The team of the image (from <c>AnswersProduced.TeamId</c>): searches reach only their caller's team's rows;
    /// <see cref="Guid.Empty"/> for answers from before teams.
    /// </summary>
    public Guid TeamId { get; set; }

    /// <summary>The collection the image belongs to.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The image the answer is about.</summary>
    public Guid ImageId { get; set; }

    /// <summary>The file name the image was uploaded under (as the answers' message carried it).</summary>
    public string? FileName { get; set; }

    /// <summary>Object storage key of the image's original, which search results link to.</summary>
    public string? ObjectKey { get; set; }

    /// <summary>The question as the VQA evaluation normalizes it (case, punctuation, articles, number words).</summary>
    public required string Question { get; set; }

    /// <summary>The question as it was asked.</summary>
    public required string QuestionAsked { get; set; }

    /// <summary>The answer as the model gave it.</summary>
    public required string Answer { get; set; }

    /// <summary>The answer normalized like the question; searches match on it.</summary>
    public required string NormalizedAnswer { get; set; }

    /// <summary>1 for the model's best answer to this question about this image.</summary>
    public int Rank { get; set; }

    /// <summary>The model's score, in [0, 1].</summary>
    public double Score { get; set; }

    /// <summary>The model that gave the answer.</summary>
    public required string ModelVersion { get; set; }

    /// <summary>The question job the answer came from (the latest one, when several gave it).</summary>
    public Guid JobId { get; set; }

    /// <summary>When the inference service produced it.</summary>
    public DateTimeOffset ProducedAt { get; set; }
}

/// <summary>
/// A question some model has answered about (some images of) a collection: what tells a question never asked of a
/// collection, which starts a job, from one whose answers simply do not match.
/// </summary>
public sealed class IndexedQuestion
{
    /// <summary>The collection asked about.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The normalized question.</summary>
    public required string Question { get; set; }

    /// <summary>The model that answered.</summary>
    public required string ModelVersion { get; set; }

    /// <summary>The question as it was last asked.</summary>
    public required string QuestionAsked { get; set; }

    /// <summary>When the latest answers to it were produced; searches without a model version take the latest.</summary>
    public DateTimeOffset LastProducedAt { get; set; }
}

/// <summary>A question job the indexing service started for a search about a question never asked of a collection.</summary>
public sealed class SearchJob
{
    /// <summary>The team whose search started it (and as whose caller the job was submitted).</summary>
    public Guid TeamId { get; set; }

    /// <summary>The collection asked about.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The normalized question.</summary>
    public required string Question { get; set; }

    /// <summary>The model the search asked for; empty for the jobs API's default model.</summary>
    public required string Model { get; set; }

    /// <summary>The job's id, as the jobs API gave it.</summary>
    public Guid JobId { get; set; }

    /// <summary>Where the job's progress is, as the jobs API gave it.</summary>
    public required string StatusUrl { get; set; }

    /// <summary>When the search started it.</summary>
    public DateTimeOffset RequestedAt { get; set; }
}

/// <summary>A question job that ended, as the inference service announced it (<c>QuestionJobEnded</c>).</summary>
public sealed class EndedJob
{
    /// <summary>The job.</summary>
    public Guid JobId { get; set; }

    /// <summary>The collection it asked about.</summary>
    public Guid CollectionId { get; set; }

    /// <summary><c>completed</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public required string Status { get; set; }

    /// <summary>The model version that answered (or the model as named, when none was loaded).</summary>
    public required string ModelVersion { get; set; }

    /// <summary>How many images it answered: a search's ranking waits until that many are indexed.</summary>
    public int Answered { get; set; }

    /// <summary>Why it failed as a whole, when it did.</summary>
    public string? FailureReason { get; set; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset EndedAt { get; set; }
}
