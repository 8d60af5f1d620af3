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
    public void Position_questions_name_the_third_of_the_image_each_object_is_in_and_only_when_asked_for()
    {
        using var data = new GeneratedDataset(new SyntheticOptions
        {
            Images = 40, Seed = 43, ImageSize = 96, Layout = SceneLayout.Grid, MaxObjects = 3, WriteScenes = true,
            Families = [QuestionFamily.Position],
        });
        string[] rows = ["top ", "", "bottom "], columns = ["left", "", "right"];
        var scenes = data.SceneRows.ToDictionary(s => s.GetProperty("image_id").GetInt64());
        var answers = data.AnnotationRows.ToDictionary(a => a.GetProperty("question_id").GetInt64(),
            a => a.GetProperty("multiple_choice_answer").GetString());

        Assert.NotEmpty(data.QuestionRows);
        foreach (var question in data.QuestionRows)
        {
            var text = question.GetProperty("question").GetString()!;
            var words = text.TrimEnd('?').Split(' ');   // Where is the {color} {shape}
            var target = scenes[question.GetProperty("image_id").GetInt64()].GetProperty("objects").EnumerateArray()
                .Single(o => o.GetProperty("color").GetString() == words[3] && o.GetProperty("shape").GetString() == words[4]);
            var place = (rows[target.GetProperty("y").GetInt32() * 3 / 96] + columns[target.GetProperty("x").GetInt32() * 3 / 96]).Trim();
            Assert.Equal(place.Length == 0 ? "middle" : place, answers[question.GetProperty("question_id").GetInt64()]);
        }
        using var byDefault = new GeneratedDataset(new SyntheticOptions { Images = 20, Seed = 43, ImageSize = 96, Layout = SceneLayout.Grid, MaxObjects = 3 });
        Assert.DoesNotContain(byDefault.AnnotationRows, a => a.GetProperty("question_type").GetString() == "where is the");
        Assert.DoesNotContain(QuestionFamily.Position, byDefault.Stats.QuestionsPerFamily.Keys);
    }

    [Fact]
    public void No_family_at_all_is_refused_with_the_reason() =>
        Assert.Contains("at least one question family",
            Assert.Throws<SyntheticDataException>(() => new SyntheticOptions { Families = [] }.Validate()).Message);
}
