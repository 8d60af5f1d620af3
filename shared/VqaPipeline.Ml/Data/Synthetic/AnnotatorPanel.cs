namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>One of the ten answers VQA v2 collects per question.</summary>
internal sealed record AnnotatorAnswer(string Answer, string Confidence, int AnswerId);

/// <summary>
/// Simulates VQA v2's ten annotators: each gives the true answer, except that with a small probability one gives a
/// plausible wrong answer instead (the other of yes/no, a count off by one, another colour), marked "maybe".
/// </summary>
internal static class AnnotatorPanel
{
    public const int Annotators = 10;
    public const double WrongAnswerProbability = 0.03;
    public const double UnsureWhenRightProbability = 0.05;

    public static List<AnnotatorAnswer> Answer(SceneQuestion question, SplitMix64 random)
    {
        var wrongChoices = question.Alternatives.Where(a => a != question.Answer).ToList();
        return Enumerable.Range(1, Annotators).Select(id =>
        {
            if (wrongChoices.Count > 0 && random.Chance(WrongAnswerProbability))
                return new AnnotatorAnswer(random.Pick(wrongChoices), "maybe", id);
            return new AnnotatorAnswer(question.Answer, random.Chance(UnsureWhenRightProbability) ? "maybe" : "yes", id);
        }).ToList();
    }

    /// <summary>VQA's <c>multiple_choice_answer</c>: the most frequent answer, the true one on a tie.</summary>
    public static string MostCommon(IReadOnlyList<AnnotatorAnswer> answers, string truth) =>
        answers.GroupBy(a => a.Answer)
            .OrderByDescending(g => g.Count())
            .ThenByDescending(g => g.Key == truth)
            .First().Key;
}
