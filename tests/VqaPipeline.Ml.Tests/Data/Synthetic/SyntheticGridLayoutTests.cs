using VqaPipeline.Ml.Data.Synthetic;

namespace VqaPipeline.Ml.Tests.Data.Synthetic;

/// <summary><c>--layout grid</c>: objects sit centred in cells whose borders fall on 32-pixel patch boundaries.</summary>
public sealed class SyntheticGridLayoutTests
{
    [Theory]
    [InlineData(384, 6)]
    [InlineData(224, 6)]
    [InlineData(128, 6)]
    public void Objects_are_centred_in_patch_aligned_cells_that_hold_them(int imageSize, int maxObjects)
    {
        using var data = new GeneratedDataset(new SyntheticOptions
        {
            Images = 30, Seed = 5, ImageSize = imageSize, MaxObjects = maxObjects, Layout = SceneLayout.Grid, WriteScenes = true,
        });
        var objects = data.SceneRows.SelectMany(s => s.GetProperty("objects").EnumerateArray())
            .Select(o => (X: o.GetProperty("x").GetInt32(), Y: o.GetProperty("y").GetInt32(), Extent: o.GetProperty("extent").GetInt32()))
            .ToList();
        var large = objects.Max(o => o.Extent);
        var centres = objects.Select(o => o.X).Concat(objects.Select(o => o.Y)).Distinct().Order().ToList();
        var cell = centres.Zip(centres.Skip(1), (a, b) => b - a).Min();

        Assert.True(cell % 32 == 0 && cell >= large, $"cells {cell} px apart, large objects {large} px");
        Assert.All(centres, centre => Assert.True(centre - cell / 2 >= 0 && (centre - cell / 2) % 32 == 0,
            $"the cell around {centre} is off the patch grid"));
    }

    [Fact]
    public void Every_answer_is_still_balanced_on_a_grid()
    {
        using var data = new GeneratedDataset(new SyntheticOptions { Images = 100, Seed = 6, Layout = SceneLayout.Grid });

        Assert.All(data.Stats.QuestionsPerFamily.Values, count => Assert.True(count >= 0.15 * data.Stats.Questions));
        Assert.All(data.Stats.YesNoPerFamily.Values, count => Assert.InRange(count.YesFraction, 0.45, 0.55));
    }
}
