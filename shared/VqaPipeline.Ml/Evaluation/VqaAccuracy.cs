namespace VqaPipeline.Ml.Evaluation;

/// <summary>Which answer treatment <see cref="VqaAccuracy"/> follows.</summary>
public enum VqaMetric
{
    /// <summary>
    /// GT-Vision-Lab/VQA's <c>vqaEval.py</c> as it is today (commit a013f00, 2021, "Fixed processing answers bug"),
    /// run as the Python 2.7 code it is: human answers and the prediction lose '\n' / '\t' and surrounding white space;
    /// only when the humans still disagree are both sides given punctuation, digit and article processing. When the
    /// humans agree, the prediction is compared as given (<c>Orange</c> against ten <c>orange</c> scores 0).
    /// </summary>
    Official,

    /// <summary>
    /// The same file as of 2017 (commit a4f1afd), as its Python 3 port (the repository's feature/update_style branch)
    /// computes it on CPython 3.12: the prediction is always cleaned and fully normalized; the human answers, only
    /// when they disagree, get <see cref="VqaAnswerNormalizer.ProcessPunctuation(string)"/> alone. Most published
    /// numbers and ports use these rules.
    /// </summary>
    Official2017,

    /// <summary>
    /// lmms-eval's vqav2 task: the prediction is lowercased, loses ',' and '?', has "'s" split off, and is normalized;
    /// the human answers are cleaned, and when they disagree both sides are normalized (again) in full.
    /// </summary>
    Normalized,
}

/// <summary>One human answer of an annotation; two entries equal in every field count as the same entry.</summary>
public sealed record VqaHumanAnswer(string Answer, string? Confidence = null, long? AnswerId = null);

/// <summary>A question's human answers and types, as in the official annotations file.</summary>
public sealed record VqaAnnotation(long QuestionId, string QuestionType, string AnswerType, IReadOnlyList<VqaHumanAnswer> Answers);

/// <summary>A model's answer to one question, as in the official results file.</summary>
public sealed record VqaPrediction(long QuestionId, string Answer);

/// <summary>Accuracies in percent rounded to two decimals, as the official <c>setAccuracy</c> reports them.</summary>
/// <param name="Overall">Mean over all annotated questions.</param>
/// <param name="PerAnswerType">Mean per answer type, in order of first appearance in the annotations.</param>
/// <param name="PerQuestionType">Mean per question type, in order of first appearance in the annotations.</param>
/// <param name="PerQuestion">Each question's accuracy (the official <c>evalQA</c>), by question id.</param>
public sealed record VqaScore(
    double Overall,
    IReadOnlyDictionary<string, double> PerAnswerType,
    IReadOnlyDictionary<string, double> PerQuestionType,
    IReadOnlyDictionary<long, double> PerQuestion);

/// <summary>The VQA accuracy metric: min(1, humans who gave the answer / 3), averaged over the ten leave-one-out subsets.</summary>
public static class VqaAccuracy
{
    private const int Decimals = 2;

    /// <summary>
    /// Scores <paramref name="predictions"/> against every annotated question. Like the official loader, the
    /// predictions must cover exactly the annotated questions; a question predicted twice keeps its last answer.
    /// </summary>
    /// <exception cref="VqaEvaluationException">Questions are missing from or unknown to the predictions, or annotated twice.</exception>
    public static VqaScore Score(IReadOnlyList<VqaAnnotation> annotations, IReadOnlyList<VqaPrediction> predictions,
        VqaMetric metric = VqaMetric.Official)
    {
        var predicted = new Dictionary<long, string>();
        foreach (var prediction in predictions) predicted[prediction.QuestionId] = prediction.Answer;
        CheckCoverage(annotations, predicted);

        var overall = new List<double>(annotations.Count);
        var byAnswerType = new Dictionary<string, List<double>>();
        var byQuestionType = new Dictionary<string, List<double>>();
        var perQuestion = new Dictionary<long, double>();
        foreach (var annotation in annotations)
        {
            var accuracy = QuestionAccuracy(annotation.Answers, predicted[annotation.QuestionId], metric);
            overall.Add(accuracy);
            Collect(byQuestionType, annotation.QuestionType, accuracy);
            Collect(byAnswerType, annotation.AnswerType, accuracy);
            perQuestion[annotation.QuestionId] = Round(100 * accuracy, metric);
        }
        return new VqaScore(Percent(overall, metric),
            byAnswerType.ToDictionary(pair => pair.Key, pair => Percent(pair.Value, metric)),
            byQuestionType.ToDictionary(pair => pair.Key, pair => Percent(pair.Value, metric)),
            perQuestion);
    }

    /// <summary>One question's accuracy in [0, 1], before any rounding.</summary>
    public static double QuestionAccuracy(IReadOnlyList<VqaHumanAnswer> humanAnswers, string prediction,
        VqaMetric metric = VqaMetric.Official)
    {
        if (humanAnswers.Count == 0) throw new VqaEvaluationException("an annotation has no human answers to score against.");
        var (answers, predicted) = metric switch
        {
            VqaMetric.Official => PrepareOfficial(humanAnswers, prediction),
            VqaMetric.Official2017 => PrepareOfficial2017(humanAnswers, prediction),
            _ => PrepareNormalized(humanAnswers, prediction),
        };

        var leaveOneOut = answers.Select(heldOut =>
        {
            // Python's `item != gtAnsDatum` compares whole entries, so identical entries leave together.
            var matches = answers.Count(other => other != heldOut && other.Answer == predicted);
            return matches >= 3 ? new PythonNumber(1, IsInteger: true) : new PythonNumber(matches / 3.0, IsInteger: false);
        }).ToList();

        return metric switch
        {
            VqaMetric.Official => PythonFloat.Sum27(leaveOneOut) / leaveOneOut.Count,
            VqaMetric.Official2017 => PythonFloat.Sum(leaveOneOut) / leaveOneOut.Count,
            _ => PythonFloat.ExactMean(leaveOneOut.Select(value => value.Value).ToList()),
        };
    }

    // a013f00: clean both sides; the humans' distinctness is judged after cleaning, and then both sides are processed.
    private static (IReadOnlyList<VqaHumanAnswer>, string) PrepareOfficial(IReadOnlyList<VqaHumanAnswer> humanAnswers, string prediction)
    {
        const PythonVersion python = PythonVersion.Python27;
        var cleaned = humanAnswers.Select(a => a with { Answer = VqaAnswerNormalizer.Clean(a.Answer, python) }).ToList();
        var predicted = VqaAnswerNormalizer.Clean(prediction, python);
        if (AllIdentical(cleaned)) return (cleaned, predicted);
        string Process(string answer) =>
            VqaAnswerNormalizer.ProcessDigitArticle(VqaAnswerNormalizer.ProcessPunctuation(answer, python), python);
        return (cleaned.Select(a => a with { Answer = Process(a.Answer) }).ToList(), Process(predicted));
    }

    // a4f1afd: the prediction is always normalized; disagreeing humans get punctuation processing only, uncleaned.
    private static (IReadOnlyList<VqaHumanAnswer>, string) PrepareOfficial2017(IReadOnlyList<VqaHumanAnswer> humanAnswers, string prediction)
    {
        var predicted = VqaAnswerNormalizer.Normalize(prediction);
        if (AllIdentical(humanAnswers)) return (humanAnswers, predicted);
        return (humanAnswers.Select(a => a with { Answer = VqaAnswerNormalizer.ProcessPunctuation(a.Answer) }).ToList(), predicted);
    }

    private static (IReadOnlyList<VqaHumanAnswer>, string) PrepareNormalized(IReadOnlyList<VqaHumanAnswer> humanAnswers, string prediction)
    {
        var predicted = VqaAnswerNormalizer.Normalize(LmmsWordTokenize(prediction));
        var cleaned = humanAnswers.Select(a => a with { Answer = VqaAnswerNormalizer.Clean(a.Answer, PythonVersion.Python3) }).ToList();
        if (AllIdentical(cleaned)) return (cleaned, predicted);
        var normalized = cleaned.Select(a => a with { Answer = FullyProcess(a.Answer) }).ToList();
        return (normalized, FullyProcess(predicted));
    }

    // lmms-eval's word_tokenize, applied to the prediction before everything else.
    private static string LmmsWordTokenize(string answer) =>
        PythonText.Strip(PythonText.Lower(answer, PythonVersion.Python3)
            .Replace(",", "", StringComparison.Ordinal)
            .Replace("?", "", StringComparison.Ordinal)
            .Replace("'s", " 's", StringComparison.Ordinal), PythonVersion.Python3);

    private static string FullyProcess(string answer) => VqaAnswerNormalizer.ProcessDigitArticle(
        VqaAnswerNormalizer.ProcessPunctuation(answer, PythonVersion.Python3, lmmsCommaRule: true), PythonVersion.Python3);

    private static bool AllIdentical(IReadOnlyList<VqaHumanAnswer> answers) =>
        answers.All(answer => answer.Answer == answers[0].Answer);

    private static void Collect(Dictionary<string, List<double>> groups, string key, double accuracy)
    {
        if (!groups.TryGetValue(key, out var values)) groups[key] = values = [];
        values.Add(accuracy);
    }

    // setAccuracy: round(100 * float(sum(accuracies)) / len(accuracies), 2).
    private static double Percent(List<double> accuracies, VqaMetric metric)
    {
        var floats = accuracies.Select(value => new PythonNumber(value, IsInteger: false));
        var sum = metric == VqaMetric.Official ? PythonFloat.Sum27(floats) : PythonFloat.Sum(floats);
        return Round(100 * sum / accuracies.Count, metric);
    }

    private static double Round(double value, VqaMetric metric) =>
        metric == VqaMetric.Official ? PythonFloat.Round27(value, Decimals) : PythonFloat.Round(value, Decimals);

    private static void CheckCoverage(IReadOnlyList<VqaAnnotation> annotations, Dictionary<long, string> predicted)
    {
        var annotated = new HashSet<long>();
        foreach (var annotation in annotations)
            if (!annotated.Add(annotation.QuestionId))
                throw new VqaEvaluationException($"question {annotation.QuestionId} is annotated twice; each question needs one annotation.");
        if (annotated.Count == 0) throw new VqaEvaluationException("the annotations hold no questions to score.");

        var missing = annotated.Where(id => !predicted.ContainsKey(id)).ToList();
        var unknown = predicted.Keys.Where(id => !annotated.Contains(id)).ToList();
        if (missing.Count == 0 && unknown.Count == 0) return;
        var problems = new List<string>();
        if (missing.Count > 0)
            problems.Add($"{missing.Count} of {annotated.Count} annotated questions have no result (first: {missing[0]})");
        if (unknown.Count > 0)
            problems.Add($"{unknown.Count} results are for questions not in the annotations (first: {unknown[0]})");
        throw new VqaEvaluationException($"results do not correspond to the annotated questions: {string.Join("; ", problems)}.");
    }
}

/// <summary>Evaluation input is unusable: a file is missing or malformed, or results and annotations disagree.</summary>
public sealed class VqaEvaluationException(string message, Exception? inner = null) : VqaPipelineException(message, inner);
