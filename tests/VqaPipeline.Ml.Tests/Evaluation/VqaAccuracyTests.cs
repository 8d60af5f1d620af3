using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Ml.Tests.Evaluation;

/// <summary>The official metric's rules, each on answers built for it, and its numbers on the real VQA v2 sample.</summary>
public class VqaAccuracyTests
{
    private static List<VqaHumanAnswer> Humans(params string[] answers) =>
        answers.Select((answer, i) => new VqaHumanAnswer(answer, "yes", i + 1)).ToList();

    private static List<VqaHumanAnswer> TenWith(int matching, string answer = "red") =>
        Humans([.. Enumerable.Repeat(answer, matching), .. Enumerable.Range(0, 10 - matching).Select(i => $"other{i}")]);

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.3)] // 9 subsets see 1 match: 9 × 1/3 / 10
    [InlineData(2, 0.6)] // 2 × 1/3 + 8 × 2/3, over 10
    [InlineData(3, 0.9)] // 3 × 2/3 + 7 × 1, over 10
    [InlineData(4, 1.0)]
    [InlineData(10, 1.0)]
    public void Leave_one_out_average_of_min_1_matches_over_3(int matching, double expected) =>
        Assert.Equal(expected, VqaAccuracy.QuestionAccuracy(TenWith(matching), "red"), 15);

    [Fact]
    public void Prediction_is_normalized_against_disagreeing_humans() =>
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "dog"), "  The Dog!\n"));

    [Fact]
    public void Identical_human_answers_are_left_as_they_are() =>
        // All ten say "Yes": no processing on their side, while the prediction "Yes" becomes "yes".
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(Humans(Enumerable.Repeat("Yes", 10).ToArray()), "Yes"));

    [Fact]
    public void Disagreeing_human_answers_get_punctuation_processing_only()
    {
        var humans = Humans("Yes!", "Yes!", "Yes!", "Yes!", "no", "no", "no", "no", "no", "no");
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(humans, "yes")); // "Yes " is not lowercased or stripped
        var twos = Humans("two", "two", "two", "two", "2", "3", "3", "3", "3", "3");
        Assert.Equal(0.3, VqaAccuracy.QuestionAccuracy(twos, "two"), 15); // the prediction became "2"; "two" stays
    }

    [Fact]
    public void Normalized_metric_processes_both_sides_in_full()
    {
        var twos = Humans("two", "two", "two", "two", "2", "3", "3", "3", "3", "3");
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(twos, "Two?", VqaMetric.Normalized));
        var yeses = Humans("Yes!", "Yes!", "Yes!", "Yes!", "no", "no", "no", "no", "no", "no");
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(yeses, "yes", VqaMetric.Normalized));
        // lmms-eval's tokenizer splits "'s" off the prediction only.
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "man's"), "man's", VqaMetric.Normalized));
    }

    [Fact]
    public void Identical_entries_leave_together_like_python_dict_inequality()
    {
        var sameEntries = Enumerable.Repeat(new VqaHumanAnswer("red"), 4).Concat(Humans("a", "b")).ToList();
        // Holding out one "red" removes all four, so it sees no match; "a" and "b" each see four: (0 × 4 + 1 + 1) / 6.
        Assert.Equal(2.0 / 6, VqaAccuracy.QuestionAccuracy(sameEntries, "red"));
    }

    [Theory]
    [InlineData(40.625, 40.62)] // an exact binary tie goes to even
    [InlineData(0.375, 0.38)]
    [InlineData(0.125, 0.12)]
    [InlineData(2.675, 2.67)] // the double is just below 2.675
    [InlineData(76.66666666666666, 76.67)]
    [InlineData(100.0, 100.0)]
    public void Rounds_like_python_round(double value, double expected) =>
        Assert.Equal(expected, PythonFloat.Round(value, 2));

    [Fact]
    public void Sums_like_cpython_sum()
    {
        Assert.Equal(1.0, PythonFloat.Sum(Enumerable.Repeat(new PythonNumber(0.1, false), 10)));
        Assert.Equal(4.0, PythonFloat.Sum([new PythonNumber(1, true), new PythonNumber(1, true), new PythonNumber(2, false)]));
        Assert.Equal(0.3, PythonFloat.ExactMean([.. Enumerable.Repeat(1 / 3.0, 9), 0.0]));
    }

    [Fact]
    public void Missing_and_unknown_results_are_named_with_counts()
    {
        var annotations = new[] { new VqaAnnotation(1, "what", "other", TenWith(4)), new VqaAnnotation(2, "what", "other", TenWith(4)) };
        var missing = Assert.Throws<VqaEvaluationException>(() => VqaAccuracy.Score(annotations, [new VqaPrediction(1, "red")]));
        Assert.Contains("1 of 2 annotated questions have no result (first: 2)", missing.Message);
        var unknown = Assert.Throws<VqaEvaluationException>(() =>
            VqaAccuracy.Score(annotations, [new VqaPrediction(1, "red"), new VqaPrediction(2, "red"), new VqaPrediction(9, "red")]));
        Assert.Contains("1 results are for questions not in the annotations (first: 9)", unknown.Message);
    }

    [Fact]
    public void Sample_scores_match_the_hand_computed_official_values()
    {
        var annotations = VqaEvaluationFiles.LoadAnnotations(Fixtures.PathOf("vqa-v2-sample", "annotations_evalready_DERIVED.json"));
        Assert.Equal(0, annotations.UntypedCount);
        var ids = annotations.Annotations.Select(a => a.QuestionId).ToArray();
        // Q0: 6 of 10 said "net", 1 "pitcher"; Q1: 9 "pitcher"; Q2: all ten "orange", compared unprocessed.
        var score = VqaAccuracy.Score(annotations.Annotations,
            [new VqaPrediction(ids[0], "pitcher"), new VqaPrediction(ids[1], "Pitcher."), new VqaPrediction(ids[2], "The orange")]);

        Assert.Equal(76.67, score.Overall); // 100 × (0.3 + 1 + 1) / 3
        Assert.Equal([30.0, 100.0, 100.0], ids.Select(id => score.PerQuestion[id]));
        Assert.Equal(new Dictionary<string, double> { ["other"] = 76.67 }, score.PerAnswerType);
        Assert.Equal([30.0, 100.0, 100.0], annotations.Annotations.Select(a => score.PerQuestionType[a.QuestionType]));
    }

    [Fact]
    public void Trimmed_sample_annotations_count_as_unknown_types()
    {
        var annotations = VqaEvaluationFiles.LoadAnnotations(Fixtures.PathOf("vqa-v2-sample", "annotations.json"));
        Assert.Equal(annotations.Annotations.Count, annotations.UntypedCount);
        var score = VqaAccuracy.Score(annotations.Annotations,
            annotations.Annotations.Select(a => new VqaPrediction(a.QuestionId, "netting")).ToList());
        Assert.Equal(10.0, score.Overall); // 0.3 + 0 + 0 over 3
        Assert.Equal(10.0, score.PerAnswerType[VqaEvaluationFiles.UnknownType]);
        Assert.Equal(10.0, score.PerQuestionType[VqaEvaluationFiles.UnknownType]);
    }
}
