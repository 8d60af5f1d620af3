namespace VqaPipeline.Ml.Generation;

/// <summary>When beam search stops (transformers' <c>early_stopping</c>: False, True or "never").</summary>
public enum EarlyStopping
{
    /// <summary>Stop a row once no open beam can beat its worst finished one at the current length (False).</summary>
    Heuristic,

    /// <summary>Stop a row as soon as it has <c>num_beams</c> finished hypotheses (True).</summary>
    WhenEnoughHypotheses,

    /// <summary>Stop only when no open beam could win even at the maximum length ("never").</summary>
    Never,
}

/// <summary>
/// The <c>GenerationConfig</c> fields the engine honours, with transformers' semantics. Lengths count the ids of
/// the returned sequence (<see cref="PromptIds"/> included), as <c>max_length</c> does.
/// </summary>
public sealed record GenerationSettings
{
    /// <summary>The ids every returned sequence starts with (BLIP's <c>[DEC]</c>; none for BLIP-2, whose prompt is embeddings).</summary>
    public IReadOnlyList<long> PromptIds { get; init; } = [];

    /// <summary>Longest sequence, prompt ids included (<c>max_length</c>).</summary>
    public int MaxLength { get; init; } = 20;

    /// <summary>End-of-sequence is forbidden while the sequence is shorter than this (<c>min_length</c>).</summary>
    public int MinLength { get; init; }

    public long EosTokenId { get; init; }

    /// <summary>Fills a finished row while others in the batch go on.</summary>
    public long PadTokenId { get; init; }

    /// <summary>1 for greedy search.</summary>
    public int NumBeams { get; init; } = 1;

    /// <summary>Beam scores are divided by length^LengthPenalty (<c>length_penalty</c>).</summary>
    public double LengthPenalty { get; init; } = 1.0;

    public EarlyStopping EarlyStopping { get; init; } = EarlyStopping.Heuristic;
}

/// <summary>One generated sequence.</summary>
/// <param name="Ids">The ids as transformers returns them for this row: the prompt ids, the generated tokens and the
/// end-of-sequence token when one ended it (no padding).</param>
/// <param name="Score">Greedy: the product of the chosen tokens' probabilities. Beam search: transformers'
/// <c>sequences_scores</c>, the summed log-probabilities divided by generated length^length_penalty.</param>
/// <param name="MeanLogProbability">The summed log-probability of the generated tokens divided by their number.</param>
/// <param name="GeneratedTokens">Tokens generated (the end-of-sequence token included, padding not).</param>
public sealed record GeneratedSequence(long[] Ids, double Score, double MeanLogProbability, int GeneratedTokens);
