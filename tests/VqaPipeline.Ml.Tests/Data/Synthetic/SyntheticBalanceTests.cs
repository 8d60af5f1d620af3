using VqaPipeline.Ml.Data.Synthetic;

namespace VqaPipeline.Ml.Tests.Data.Synthetic;

/// <summary>No family, and no yes/no answer, dominates: a model cannot score by guessing the common case.</summary>
public sealed class SyntheticBalanceTests(FreeLayoutDataset shared) : IClassFixture<FreeLayoutDataset>
{
    private static readonly Dictionary<string, QuestionFamily> FamilyOfType = new()
    {
        ["is there a"] = QuestionFamily.Existence,
        ["how many"] = QuestionFamily.Counting,
        ["what color is the"] = QuestionFamily.Attribute,
        ["what shape is the"] = QuestionFamily.Attribute,
        ["what size is the"] = QuestionFamily.Attribute,
        ["is the"] = QuestionFamily.Spatial,
    };

    private GeneratedDataset Data => shared.Dataset;

    [Fact]
    public void Every_family_has_at_least_fifteen_percent_of_the_questions_and_the_stats_say_so()
    {
        var perFamily = Data.AnnotationRows
            .GroupBy(a => FamilyOfType[a.GetProperty("question_type").GetString()!])
            .ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(Data.Options.Images * Data.Options.QuestionsPerImage, Data.Stats.Questions);
        Assert.Equal(perFamily.OrderBy(p => p.Key), Data.Stats.QuestionsPerFamily.OrderBy(p => p.Key));
        Assert.All(SyntheticOptions.DefaultFamilies, family =>
            Assert.True(perFamily[family] >= 0.15 * Data.Stats.Questions, $"{family}: {perFamily[family]} of {Data.Stats.Questions}"));
    }

    [Fact]
    public void Yes_and_no_are_balanced_within_each_yes_no_family()
    {
        var yesNo = Data.AnnotationRows
            .Where(a => a.GetProperty("answer_type").GetString() == "yes/no")
            .GroupBy(a => FamilyOfType[a.GetProperty("question_type").GetString()!])
            .ToDictionary(g => g.Key, g => new YesNoCount(
                g.Count(a => a.GetProperty("multiple_choice_answer").GetString() == "yes"),
                g.Count(a => a.GetProperty("multiple_choice_answer").GetString() == "no")));

        Assert.Equal([QuestionFamily.Existence, QuestionFamily.Spatial], yesNo.Keys.Order());
        Assert.Equal(yesNo.OrderBy(p => p.Key), Data.Stats.YesNoPerFamily.OrderBy(p => p.Key));
        Assert.All(yesNo.Values, count => Assert.InRange(count.YesFraction, 0.45, 0.55));
    }

    [Fact]
    public void Counting_answers_span_zero_to_six_without_one_answer_dominating()
    {
        var counts = Data.AnnotationRows
            .Where(a => a.GetProperty("answer_type").GetString() == "number")
            .GroupBy(a => a.GetProperty("multiple_choice_answer").GetString()!)
            .ToDictionary(g => g.Key, g => g.Count());

        Assert.All(counts.Keys, answer => Assert.Contains(answer, new[] { "0", "1", "2", "3", "4", "5", "6" }));
        Assert.True(counts.Count >= 6, $"answers seen: {string.Join(", ", counts.Keys)}");
        Assert.True(counts.Values.Max() < 0.5 * counts.Values.Sum(), $"most common answer has {counts.Values.Max()} of {counts.Values.Sum()}");
    }

    [Fact]
    public void Annotators_disagree_rarely_and_the_majority_is_the_multiple_choice_answer()
    {
        var answers = Data.AnnotationRows.SelectMany(a => a.GetProperty("answers").EnumerateArray()
            .Select(x => (Given: x.GetProperty("answer").GetString(), Majority: a.GetProperty("multiple_choice_answer").GetString(),
                Confidence: x.GetProperty("answer_confidence").GetString()))).ToList();

        var disagreeing = answers.Count(a => a.Given != a.Majority);
        Assert.InRange((double)disagreeing / answers.Count, 0.01, 0.06);
        Assert.All(answers.Where(a => a.Given != a.Majority), a => Assert.Equal("maybe", a.Confidence));
        foreach (var annotation in Data.AnnotationRows)
        {
            var mostCommon = annotation.GetProperty("answers").EnumerateArray()
                .GroupBy(x => x.GetProperty("answer").GetString()).MaxBy(g => g.Count())!.Key;
            Assert.Equal(mostCommon, annotation.GetProperty("multiple_choice_answer").GetString());
        }
    }
}
