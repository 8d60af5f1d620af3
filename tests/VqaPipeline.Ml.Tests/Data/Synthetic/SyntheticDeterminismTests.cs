using VqaPipeline.Ml.Data.Synthetic;

namespace VqaPipeline.Ml.Tests.Data.Synthetic;

/// <summary>A seed fixes every byte; another seed gives other scenes with image ids that cannot collide.</summary>
public sealed class SyntheticDeterminismTests
{
    private static SyntheticOptions Small(int seed) => new() { Images = 40, Seed = seed, WriteScenes = true };

    [Fact]
    public void The_same_seed_writes_byte_identical_files()
    {
        using var first = new GeneratedDataset(Small(11));
        using var second = new GeneratedDataset(Small(11));

        var firstFiles = first.AllFiles();
        var secondFiles = second.AllFiles();
        Assert.Equal(firstFiles.Keys, secondFiles.Keys);
        Assert.All(firstFiles, file => Assert.True(file.Value.AsSpan().SequenceEqual(secondFiles[file.Key]), $"{file.Key} differs"));
    }

    [Fact]
    public void Another_seed_gives_other_scenes_questions_and_image_ids()
    {
        using var first = new GeneratedDataset(Small(11));
        using var second = new GeneratedDataset(Small(12));

        var firstIds = first.QuestionRows.Select(q => q.GetProperty("image_id").GetInt64()).ToHashSet();
        Assert.DoesNotContain(second.QuestionRows, q => firstIds.Contains(q.GetProperty("image_id").GetInt64()));
        Assert.NotEqual(first.QuestionRows.Select(q => q.GetProperty("question").GetString()),
            second.QuestionRows.Select(q => q.GetProperty("question").GetString()));
        Assert.NotEqual(first.SceneRows.Select(s => s.GetProperty("objects").GetRawText()),
            second.SceneRows.Select(s => s.GetProperty("objects").GetRawText()));
        var firstImages = first.AllFiles().Where(f => f.Key.StartsWith("images")).Select(f => f.Value).ToList();
        var secondImages = second.AllFiles().Where(f => f.Key.StartsWith("images")).Select(f => f.Value).ToList();
        Assert.All(firstImages.Zip(secondImages), pair => Assert.False(pair.First.AsSpan().SequenceEqual(pair.Second)));
    }

    [Fact]
    public void No_image_is_asked_the_same_question_twice()
    {
        using var data = new GeneratedDataset(Small(13) with { QuestionsPerImage = 12 });

        Assert.All(data.QuestionRows.GroupBy(q => q.GetProperty("image_id").GetInt64()),
            image => Assert.Equal(image.Count(), image.Select(q => q.GetProperty("question").GetString()).Distinct().Count()));
    }
}
