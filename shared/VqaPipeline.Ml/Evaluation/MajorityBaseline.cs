namespace VqaPipeline.Ml.Evaluation;

/// <summary>
/// What answering without looking scores: every question of a type gets that type's most common human answer. A model
/// must beat this per question type to show that it reads the image and not only the question.
/// </summary>
/// <param name="Answers">Each question type's most common human answer (ties: the ordinal-first answer).</param>
/// <param name="Score">The official accuracy of those answers.</param>
public sealed record MajorityBaseline(IReadOnlyDictionary<string, string> Answers, VqaScore Score)
{
    /// <summary>The baseline of <paramref name="annotations"/>, taking the majority answers from the same annotations
    /// (an upper bound of a baseline taken from training data of the same distribution).</summary>
    public static MajorityBaseline Of(IReadOnlyList<VqaAnnotation> annotations, VqaMetric metric = VqaMetric.Official)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        var answers = annotations
            .GroupBy(a => a.QuestionType)
            .ToDictionary(type => type.Key, type => type
                .SelectMany(a => a.Answers)
                .GroupBy(h => h.Answer)
                .OrderByDescending(answer => answer.Count())
                .ThenBy(answer => answer.Key, StringComparer.Ordinal)
                .First().Key);
        var predictions = annotations.Select(a => new VqaPrediction(a.QuestionId, answers[a.QuestionType])).ToArray();
        return new MajorityBaseline(answers, VqaAccuracy.Score(annotations, predictions, metric));
    }
}
