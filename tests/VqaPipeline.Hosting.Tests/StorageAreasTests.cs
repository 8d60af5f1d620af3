using VqaPipeline.Storage;

namespace VqaPipeline.Hosting.Tests;

public sealed class StorageAreasTests
{
    [Theory]
    [InlineData("", true)] // lists the whole bucket
    [InlineData("mod", true)] // a listing by string prefix reaches models/
    [InlineData("models/", true)]
    [InlineData("models/shapes/1/", true)]
    [InlineData("datasets/", true)] // reaches datasets/training-runs/
    [InlineData("datasets/training-runs/abc/", true)]
    [InlineData("originals/", true)]
    [InlineData("preprocessed/x", true)]
    [InlineData("datasets/vqa-v2-sample/", false)] // an operator's dataset for everyone
    [InlineData("datasets/training/", false)] // not training-runs/
    [InlineData("client-drop/", false)]
    [InlineData("modelsX/", false)]
    public void A_prefix_reaches_team_owned_folders_exactly_when_a_listing_of_it_could_return_their_keys(string prefix, bool reaches) =>
        Assert.Equal(reaches, StorageAreas.Reaches(prefix, StorageAreas.TeamOwned));

    [Fact]
    public void Every_team_owned_folder_is_one_the_services_write() =>
        Assert.All(StorageAreas.TeamOwned, folder => Assert.True(StorageAreas.Reaches(folder + "/", StorageAreas.Written), folder));
}
