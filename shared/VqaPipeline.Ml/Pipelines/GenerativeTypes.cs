using VqaPipeline.Ml.Generation;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Pipelines;

/// <summary>How a generative model (BLIP, BLIP-2) writes its answers; null fields take the model's defaults.</summary>
public sealed record GenerationOptions
{
    /// <summary>
    /// New tokens at most (<c>max_new_tokens</c>). Null keeps <c>generate</c>'s default <c>max_length</c> of 20 (for
    /// BLIP-2 counted as transformers 4.40.2 counts it, prompt included).
    /// </summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>1 for greedy search, more for beam search.</summary>
    public int NumBeams { get; init; } = 1;

    /// <summary>Beam scores are divided by length^LengthPenalty.</summary>
    public double LengthPenalty { get; init; } = 1.0;

    public EarlyStopping EarlyStopping { get; init; } = EarlyStopping.Heuristic;

    /// <summary>
    /// The text given to the model, with <c>{question}</c> where the question goes. Null uses the model's default:
    /// the bare question for BLIP, <c>Question: {question} Answer:</c> for BLIP-2 (the VQA guide's prompt).
    /// </summary>
    public string? Prompt { get; init; }

    /// <summary>Answers to score for every question (the probability the model gives each, then end-of-sequence).</summary>
    public IReadOnlyList<string> Candidates { get; init; } = [];

    /// <summary>When the generated answer is "yes" or "no", also score both (for ranking stored answers).</summary>
    public bool ScoreYesNo { get; init; }
}

/// <summary>A generated answer to one question.</summary>
/// <param name="Answer">The decoded text, special tokens skipped and whitespace stripped.</param>
/// <param name="Score">Greedy: the product of the generated tokens' probabilities (end-of-sequence included). Beam
/// search: transformers' <c>sequences_scores</c> (summed log-probability over generated length^length_penalty).</param>
/// <param name="MeanLogProbability">The generated tokens' mean log-probability.</param>
/// <param name="Ids">The ids as transformers' <c>generate</c> returns them.</param>
/// <param name="CandidateScores">Candidate → probability, for <see cref="GenerationOptions.Candidates"/> and, when
/// asked and the answer is yes or no, for "yes" and "no"; empty otherwise.</param>
/// <param name="QuestionTruncated">The prompt had more tokens than the model's text positions and was cut.</param>
public sealed record GeneratedAnswer(
    string Question,
    string Answer,
    double Score,
    double MeanLogProbability,
    IReadOnlyList<long> Ids,
    IReadOnlyDictionary<string, double> CandidateScores,
    bool QuestionTruncated);

/// <summary>
/// An image after the model's image stages (BLIP's vision transformer; BLIP-2's vision transformer, Q-Former and
/// projection), ready to answer any number of questions without running them again.
/// </summary>
public interface IEncodedImage : IDisposable;

/// <summary>A generative VQA model runtime: encodes images once, then writes answers to questions about them.</summary>
public interface IGenerativeVqaModel : IDisposable
{
    /// <summary>config.json's <c>model_type</c> ("blip", "blip-2").</summary>
    string ModelType { get; }

    /// <summary>Null when every weight came from the checkpoint; otherwise transformers' description of what was missing.</summary>
    string? LoadWarning { get; }

    /// <summary>Runs the image stages for one processed image.</summary>
    IEncodedImage Encode(RgbImage image);

    /// <summary>
    /// Answers every question about <paramref name="image"/>. An empty question is valid here (Python generates for
    /// it); hosts that want a question refuse it before calling.
    /// </summary>
    IReadOnlyList<GeneratedAnswer> Answer(IEncodedImage image, IReadOnlyList<string> questions, GenerationOptions options);

    /// <summary>Probability of each candidate answer (its tokens then end-of-sequence) after the image and prompt.</summary>
    IReadOnlyDictionary<string, double> ScoreCandidates(IEncodedImage image, string question, IReadOnlyList<string> candidates,
        GenerationOptions options);
}

/// <summary>Generation options the model cannot honour (zero beams, more new tokens than positions, a prompt without {question}).</summary>
public sealed class InvalidGenerationOptionsException(string message) : VqaPipelineException(message);
