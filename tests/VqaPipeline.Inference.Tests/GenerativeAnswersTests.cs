using VqaPipeline.Contracts.V1;
using VqaPipeline.Ml.Pipelines;

namespace VqaPipeline.Inference.Tests;

/// <summary>What a job stores of a generative model's answer, so that a search ranks every image by one measure.</summary>
public sealed class GenerativeAnswersTests
{
    [Fact]
    public void A_written_yes_is_stored_with_its_score_and_followed_by_the_probability_of_no()
    {
        var generated = Generated("yes", 0.61, new Dictionary<string, double> { ["yes"] = 0.61, ["no"] = 0.27 });

        Assert.Equal([new Answer("yes", 0.61), new Answer("no", 0.27)], JobAnswers.Stored(generated));
    }

    [Fact]
    public void A_written_no_is_followed_by_the_probability_of_yes()
    {
        var generated = Generated("no", 0.55, new Dictionary<string, double> { ["no"] = 0.55, ["yes"] = 0.4 });

        Assert.Equal([new Answer("no", 0.55), new Answer("yes", 0.4)], JobAnswers.Stored(generated));
    }

    [Fact]
    public void Any_other_written_answer_is_stored_alone_with_its_score()
    {
        var generated = Generated("leather", 0.12, new Dictionary<string, double>());

        Assert.Equal([new Answer("leather", 0.12)], JobAnswers.Stored(generated));
    }

    private static GeneratedAnswer Generated(string answer, double score, IReadOnlyDictionary<string, double> candidates) =>
        new("What is it?", answer, score, Math.Log(score), [1, 2, 3], candidates, QuestionTruncated: false);
}
