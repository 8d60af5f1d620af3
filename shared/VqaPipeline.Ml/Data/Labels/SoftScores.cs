using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Ml.Data.Labels;

/// <summary>A training target over an <see cref="AnswerVocabulary"/>: the labels that score, with their scores.</summary>
public sealed record SoftTarget(IReadOnlyList<int> LabelIds, IReadOnlyList<float> Scores)
{
    /// <summary>The target as a vector of <paramref name="vocabularySize"/> scores, zero elsewhere (a later duplicate id wins).</summary>
    public float[] ToDense(int vocabularySize)
    {
        var dense = new float[vocabularySize];
        for (var i = 0; i < LabelIds.Count; i++) dense[LabelIds[i]] = Scores[i];
        return dense;
    }
}

/// <summary>
/// Turns examples into soft targets. An answer given by 0, 1, 2, 3 or at least 4 annotators scores 0, 0.3, 0.6, 0.9
/// or 1.0 — <c>get_score</c> of ViLT's <c>vilt/utils/write_vqa.py</c> (from bottom-up-attention-vqa's
/// <c>compute_softscore.py</c>): min(1, 0.3·count), the 10-choose-9 average of VQA accuracy min(1, count/3) rounded
/// to steps of 0.3. Graphcore/vqa's given weights are these same scores. Examples none of whose answers are in the
/// vocabulary are dropped, as ViLT drops them from training, and counted.
/// </summary>
public sealed class SoftScoreLabeler(AnswerVocabulary vocabulary, LabelMode mode = LabelMode.Normalized)
{
    public AnswerVocabulary Vocabulary { get; } = vocabulary ?? throw new ArgumentNullException(nameof(vocabulary));

    public LabelMode Mode { get; } = mode;

    /// <summary>Examples dropped by the current or latest <see cref="Label"/> pass.</summary>
    public int DroppedCount { get; private set; }

    /// <summary>The score of an answer that <paramref name="annotators"/> of the (ten) annotators gave.</summary>
    public static float ScoreFor(int annotators) => annotators switch
    {
        < 0 => throw new ArgumentOutOfRangeException(nameof(annotators)),
        0 => 0f,
        1 => 0.3f,
        2 => 0.6f,
        3 => 0.9f,
        _ => 1f,
    };

    /// <summary>The example's target; null when none of its answers is in the vocabulary (or it has none).</summary>
    public SoftTarget? Target(VqaExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        var (ids, scores) = Mode == LabelMode.AsGiven && example.GivenLabels is { } given
            ? FromGivenLabels(given)
            : FromAnswers(example.Answers.Select(answer =>
                Mode == LabelMode.Normalized ? VqaAnswerNormalizer.Normalize(answer.Answer) : answer.Answer));
        return ids.Count == 0 ? null : new SoftTarget(ids, scores);
    }

    /// <summary>Streams the examples that have a target; the others are counted in <see cref="DroppedCount"/>.</summary>
    public IEnumerable<(VqaExample Example, SoftTarget Target)> Label(IEnumerable<VqaExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        DroppedCount = 0;
        foreach (var example in examples)
        {
            if (Target(example) is { } target) yield return (example, target);
            else DroppedCount++;
        }
    }

    /// <summary>Counts each distinct answer, keeping the order in which annotators first gave them.</summary>
    private (List<int>, List<float>) FromAnswers(IEnumerable<string> answers)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var answer in answers)
        {
            if (!counts.TryAdd(answer, 1)) counts[answer]++;
            else order.Add(answer);
        }
        var ids = new List<int>();
        var scores = new List<float>();
        foreach (var answer in order)
        {
            if (!Vocabulary.TryGetId(answer, out var id)) continue;
            ids.Add(id);
            scores.Add(ScoreFor(counts[answer]));
        }
        return (ids, scores);
    }

    private (List<int>, List<float>) FromGivenLabels(IReadOnlyList<GivenLabel> labels)
    {
        var ids = new List<int>();
        var scores = new List<float>();
        foreach (var label in labels)
        {
            if (!TryGetId(label, out var id)) continue;
            ids.Add(id);
            scores.Add(label.Weight);
        }
        return (ids, scores);
    }

    /// <summary>A label's answer text is looked up verbatim; a label given only as a number is taken as the id.</summary>
    private bool TryGetId(GivenLabel label, out int id)
    {
        if (label.Answer is { } answer) return Vocabulary.TryGetId(answer, out id);
        id = label.Id ?? -1;
        return id >= 0 && id < Vocabulary.Count;
    }
}
