using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Ml.Tests.Evaluation;

/// <summary>
/// The rules of each version of the official metric, each on answers built for it, and their numbers on the real VQA
/// v2 sample. <see cref="OfficialMetricParityTests"/> checks the same rules against the official code itself.
/// </summary>
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

    private static List<VqaHumanAnswer> Ten(string answer) => Humans(Enumerable.Repeat(answer, 10).ToArray());

    [Fact]
    public void Official_compares_the_prediction_as_given_when_the_ten_humans_agree()
    {
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(Ten("orange"), "Orange"));
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(Ten("orange"), "orange."));
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(Ten("orange"), "the orange"));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(Ten("Yes"), "Yes")); // nothing lowercases either side
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(Ten("orange"), " orange\n")); // only cleaning applies
    }

    [Fact]
    public void Official_judges_agreement_after_cleaning_both_sides()
    {
        // "orange " and "\torange" become "orange": the ten agree, and nothing else happens.
        var almost = Humans([.. Enumerable.Repeat("orange", 8), "orange ", "\torange"]);
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(almost, "orange"));
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(almost, "Orange"));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(Ten("red\n"), "red"));
    }

    [Fact]
    public void Official_normalizes_both_sides_when_the_humans_disagree()
    {
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "Dog"), "  The dog!\n"));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "two"), "2"));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "yes!"), "Yes"));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "zero"), "none")); // both become "0"
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "dog"), "dogs"));
    }

    [Fact]
    public void Official_runs_on_python_2_7_strings()
    {
        // Python 2.7's unicode.lower() maps U+0130 to a plain "i" and knows no Unicode newer than 5.2 (Cherokee
        // lowercase came in 8.0); U+180E is white space there; \d without re.UNICODE is an ASCII digit.
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "istanbul"), "\u0130stanbul"));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "\u13a0"), "\u13a0"));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "a b"), "a\u180eb"));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "\u0661 \u0662"), "\u0661,\u0662"));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "x\u0661"), "x.\u0661"));
    }

    [Fact]
    public void Official_2017_normalizes_the_prediction_against_disagreeing_humans() =>
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(TenWith(4, "dog"), "  The Dog!\n", VqaMetric.Official2017));

    [Fact]
    public void Official_2017_leaves_identical_human_answers_as_they_are()
    {
        // All ten say "Yes": no processing on their side, while the prediction "Yes" becomes "yes".
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(Ten("Yes"), "Yes", VqaMetric.Official2017));
        Assert.Equal(1.0, VqaAccuracy.QuestionAccuracy(Ten("orange"), "Orange", VqaMetric.Official2017));
    }

    [Fact]
    public void Official_2017_gives_disagreeing_human_answers_punctuation_processing_only()
    {
        var humans = Humans("Yes!", "Yes!", "Yes!", "Yes!", "no", "no", "no", "no", "no", "no");
        Assert.Equal(0.0, VqaAccuracy.QuestionAccuracy(humans, "yes", VqaMetric.Official2017)); // "Yes " is not lowercased or stripped
        var twos = Humans("two", "two", "two", "two", "2", "3", "3", "3", "3", "3");
        Assert.Equal(0.3, VqaAccuracy.QuestionAccuracy(twos, "two", VqaMetric.Official2017), 15); // the prediction became "2"; "two" stays
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

    [Theory]
    [InlineData(VqaMetric.Official)]
    [InlineData(VqaMetric.Official2017)]
    public void Identical_entries_leave_together_like_python_dict_inequality(VqaMetric metric)
    {
        var sameEntries = Enumerable.Repeat(new VqaHumanAnswer("red"), 4).Concat(Humans("a", "b")).ToList();
        // Holding out one "red" removes all four, so it sees no match; "a" and "b" each see four: (0 × 4 + 1 + 1) / 6.
        Assert.Equal(2.0 / 6, VqaAccuracy.QuestionAccuracy(sameEntries, "red", metric));
    }

    [Theory]
    [InlineData(40.625, 40.62, 40.63)] // an exact binary tie: to even in Python 3, away from zero in Python 2.7
    [InlineData(0.375, 0.38, 0.38)]
    [InlineData(0.125, 0.12, 0.13)]
    [InlineData(5.625, 5.62, 5.63)]
    [InlineData(2.675, 2.67, 2.67)] // the double is just below 2.675
    [InlineData(76.66666666666666, 76.67, 76.67)]
    [InlineData(100.0, 100.0, 100.0)]
    public void Rounds_like_python_3_and_python_2_7_round(double value, double python3, double python27)
    {
        Assert.Equal(python3, PythonFloat.Round(value, 2));
        Assert.Equal(python27, PythonFloat.Round27(value, 2));
    }

    [Fact]
    public void Sums_like_cpython_3_12_sum()
    {
        Assert.Equal(1.0, PythonFloat.Sum(Enumerable.Repeat(new PythonNumber(0.1, false), 10)));
        Assert.Equal(4.0, PythonFloat.Sum([new PythonNumber(1, true), new PythonNumber(1, true), new PythonNumber(2, false)]));
        Assert.Equal(0.3, PythonFloat.ExactMean([.. Enumerable.Repeat(1 / 3.0, 9), 0.0]));
    }

    [Fact]
    public void Sums_like_python_2_7_sum_from_left_to_right() =>
        Assert.Equal(0.9999999999999999, PythonFloat.Sum27(Enumerable.Repeat(new PythonNumber(0.1, false), 10)));

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

    [Theory]
    // Q0: 6 of 10 said "net", 1 "pitcher"; Q1: 9 "pitcher", 1 "catcher"; Q2: all ten "orange".
    [InlineData(VqaMetric.Official, 43.33, new[] { 30.0, 100.0, 0.0 })] // "The orange" is compared as given
    [InlineData(VqaMetric.Official2017, 76.67, new[] { 30.0, 100.0, 100.0 })] // and normalized to "orange" in 2017
    public void Sample_scores_match_the_hand_computed_official_values(VqaMetric metric, double overall, double[] perQuestion)
    {
        var annotations = OfficialMetricCases.RealSampleAnnotations.EnumerateArray().Select(OfficialMetricCases.ReadAnnotation).ToList();
        var ids = annotations.Select(a => a.QuestionId).ToArray();
        var score = VqaAccuracy.Score(annotations,
            [new VqaPrediction(ids[0], "pitcher"), new VqaPrediction(ids[1], "Pitcher."), new VqaPrediction(ids[2], "The orange")], metric);

        Assert.Equal(overall, score.Overall);
        Assert.Equal(perQuestion, ids.Select(id => score.PerQuestion[id]));
        Assert.Equal(new Dictionary<string, double> { ["other"] = overall }, score.PerAnswerType);
        Assert.Equal(perQuestion, annotations.Select(a => score.PerQuestionType[a.QuestionType]));
    }

    [Fact]
    public void Trimmed_sample_annotations_count_as_unknown_types()
    {
        // allennlp trimmed question_type and answer_type from the sample's annotations.json.
        var annotations = VqaEvaluationFiles.LoadAnnotations(Fixtures.PathOf("vqa-v2-sample", "annotations.json"));
        Assert.Equal(annotations.Annotations.Count, annotations.UntypedCount);
        var score = VqaAccuracy.Score(annotations.Annotations,
            annotations.Annotations.Select((a, i) => new VqaPrediction(a.QuestionId, i == 0 ? a.Answers[0].Answer : "no such answer")).ToList());
        Assert.True(score.Overall > 0);
        Assert.Equal([VqaEvaluationFiles.UnknownType], score.PerAnswerType.Keys);
        Assert.Equal(score.Overall, score.PerAnswerType[VqaEvaluationFiles.UnknownType]);
        Assert.Equal(score.Overall, score.PerQuestionType[VqaEvaluationFiles.UnknownType]);
    }
}
