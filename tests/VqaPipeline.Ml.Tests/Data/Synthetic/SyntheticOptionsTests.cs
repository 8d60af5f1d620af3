using VqaPipeline.Ml.Data.Synthetic;
using VqaPipeline.Ml.Tests.Checkpoints;

namespace VqaPipeline.Ml.Tests.Data.Synthetic;

/// <summary>Settings out of range and unusable folders are refused with one line that names the problem.</summary>
public sealed class SyntheticOptionsTests
{
    public static TheoryData<SyntheticOptions, string> OutOfRange => new()
    {
        { new SyntheticOptions { Images = 0 }, "number of images must be between 1" },
        { new SyntheticOptions { Images = -3 }, "(got -3)" },
        { new SyntheticOptions { Seed = -1 }, "seed must be between 0" },
        { new SyntheticOptions { Seed = 1_000_000 }, "seed must be between 0" },
        { new SyntheticOptions { QuestionsPerImage = 0 }, "questions per image" },
        { new SyntheticOptions { ImageSize = 32 }, "image size must be between" },
        { new SyntheticOptions { MinObjects = 0 }, "object counts must be between 1 and 6" },
        { new SyntheticOptions { MaxObjects = 7 }, "object counts must be between 1 and 6" },
        { new SyntheticOptions { MinObjects = 4, MaxObjects = 2 }, "minimum object count 4 is above the maximum 2" },
        { new SyntheticOptions { Layout = SceneLayout.Grid, ImageSize = 200 }, "multiple of 32" },
        { new SyntheticOptions { Layout = SceneLayout.Grid, ImageSize = 160 }, "too few for 6 objects" },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void Out_of_range_settings_are_refused_before_anything_is_written(SyntheticOptions options, string expected)
    {
        var error = Assert.Throws<SyntheticDataException>(() => new SyntheticSceneGenerator(options));

        Assert.IsAssignableFrom<VqaPipelineException>(error);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_folder_that_is_not_empty_is_refused_and_left_alone()
    {
        using var temp = new TemporaryFolder();
        File.WriteAllText(temp.File("keep.txt"), "mine");

        var error = Assert.Throws<SyntheticDataException>(() => new SyntheticSceneGenerator(new SyntheticOptions { Images = 1 }).Generate(temp.Path));

        Assert.Contains("is not empty", error.Message);
        Assert.Equal([temp.File("keep.txt")], Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void A_folder_below_a_file_cannot_be_created()
    {
        using var temp = new TemporaryFolder();
        File.WriteAllText(temp.File("plain"), "");

        var error = Assert.Throws<SyntheticDataException>(() =>
            new SyntheticSceneGenerator(new SyntheticOptions { Images = 1 }).Generate(Path.Combine(temp.File("plain"), "out")));

        Assert.Contains("cannot create output folder", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
