using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Ml.Tests.Evaluation;

public sealed class MajorityBaselineTests
{
    private static VqaAnnotation Question(long id, string type, params (string Answer, int Humans)[] answers) =>
        new(id, type, "other", answers.SelectMany(a => Enumerable.Repeat(a.Answer, a.Humans))
            .Select((answer, index) => new VqaHumanAnswer(answer, "yes", index + 1)).ToArray());

    [Fact]
    public void Each_question_type_is_answered_with_its_most_common_human_answer_and_scored_officially()
    {
        VqaAnnotation[] annotations =
        [
            Question(1, "is there a", ("yes", 10)),
            Question(2, "is there a", ("no", 10)),
            Question(3, "is there a", ("yes", 8), ("no", 2)),
            Question(4, "how many", ("2", 10)),
            Question(5, "how many", ("3", 10)),
        ];

        var baseline = MajorityBaseline.Of(annotations);

        Assert.Equal(new Dictionary<string, string> { ["is there a"] = "yes", ["how many"] = "2" }, baseline.Answers);
        // "yes" for question 3 is what 8 of 10 humans said: min(1, 8/3) in every leave-one-out subset.
        Assert.Equal(66.67, baseline.Score.PerQuestionType["is there a"]);
        Assert.Equal(50.0, baseline.Score.PerQuestionType["how many"]);
        Assert.Equal(60.0, baseline.Score.Overall);
    }

    [Fact]
    public void A_tie_goes_to_the_ordinal_first_answer_so_the_baseline_is_the_same_on_every_run()
    {
        var baseline = MajorityBaseline.Of([Question(1, "what color is the", ("red", 10)), Question(2, "what color is the", ("blue", 10))]);

        Assert.Equal("blue", baseline.Answers["what color is the"]);
        Assert.Equal(50.0, baseline.Score.Overall);
    }
}
