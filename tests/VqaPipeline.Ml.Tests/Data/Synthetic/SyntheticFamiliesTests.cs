using VqaPipeline.Ml.Data.Synthetic;

namespace VqaPipeline.Ml.Tests.Data.Synthetic;

/// <summary><c>--families</c>: a training stage can ask only what a model has yet to learn.</summary>
public sealed class SyntheticFamiliesTests
{
    [Fact]
    public void Only_the_chosen_families_are_asked_and_yes_and_no_stay_balanced()
    {
        using var data = new GeneratedDataset(new SyntheticOptions
        {
            Images = 60, Seed = 41, ImageSize = 96, Layout = SceneLayout.Grid, MinObjects = 2, MaxObjects = 3,
            Families = [QuestionFamily.Spatial],
        });

        var types = data.AnnotationRows.Select(a => a.GetProperty("question_type").GetString()).Distinct().ToList();
        Assert.Equal(["is the"], types);
        Assert.Equal(data.Stats.Questions, data.Stats.QuestionsPerFamily[QuestionFamily.Spatial]);
        var (yes, no) = data.Stats.YesNoPerFamily[QuestionFamily.Spatial];
        Assert.InRange(yes - no, -1, 1);
    }

    [Fact]
    public void Naming_every_family_in_any_order_writes_the_bytes_of_the_default()
    {
        var options = new SyntheticOptions { Images = 8, Seed = 42, ImageSize = 96, Layout = SceneLayout.Grid, MaxObjects = 3 };
        using var byDefault = new GeneratedDataset(options);
        using var named = new GeneratedDataset(options with
        {
            Families = [QuestionFamily.Spatial, QuestionFamily.Existence, QuestionFamily.Attribute, QuestionFamily.Counting],
        });

        foreach (var file in new[] { "questions.json", "annotations.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(byDefault.Folder, file)), File.ReadAllBytes(Path.Combine(named.Folder, file)));
    }

    [Fact]
    public void No_family_at_all_is_refused_with_the_reason() =>
        Assert.Contains("at least one question family",
            Assert.Throws<SyntheticDataException>(() => new SyntheticOptions { Families = [] }.Validate()).Message);
}
