using VqaPipeline.Storage;

namespace VqaPipeline.Hosting.Tests;

/// <summary>What the jobs and training APIs accept as a model, before any object store or worker is asked.</summary>
public sealed class ModelLocatorTests
{
    private static readonly Guid Team = Guid.NewGuid();

    [Theory]
    [InlineData("/etc")]
    [InlineData("/models/vilt")]
    [InlineData("./models")]
    [InlineData("~/models")]
    [InlineData("C:\\models")]
    public async Task A_folder_path_is_refused_with_a_clear_reason_where_paths_are_not_allowed(string path)
    {
        var locator = new ModelLocator(null, new ModelLocatorOptions { AllowPaths = false });

        var (reference, problem) = await locator.CheckAsync(path, Team, CancellationToken.None);

        Assert.Null(reference);
        Assert.Equal($"model '{path}' is a folder path, and this deployment does not run models from paths: "
                     + "name a bundled model, models/{name}/{version} or a Hub id", problem);
        await Assert.ThrowsAsync<ModelLocationException>(() => locator.ResolveAsync(path, Team, CancellationToken.None));
    }

    [Fact]
    public async Task Where_paths_are_allowed_an_absolute_folder_is_accepted_as_a_path()
    {
        var locator = new ModelLocator(null, new ModelLocatorOptions { AllowPaths = true });

        var (reference, problem) = await locator.CheckAsync("/models/vilt", Team, CancellationToken.None);

        Assert.Null(problem);
        Assert.Equal(new ModelReference("/models/vilt", ModelKind.Path), reference);
    }

    [Fact]
    public void A_stored_model_is_named_the_same_by_every_team_and_kept_in_its_teams_folder()
    {
        var ours = StoredModel.TryParse("models/shapes/1", Team)!;
        var legacy = StoredModel.TryParse("/models/shapes/1/")!;

        Assert.Equal(($"models/{Team:D}/shapes/1", "models/shapes/1"), (ours.Prefix, ours.Reference));
        // Models stored before teams (the team Guid.Empty) keep the folder they always had.
        Assert.Equal(("models/shapes/1", "models/shapes/1"), (legacy.Prefix, legacy.Reference));
        // A team's folder is no reference: nobody names another team's model through it.
        Assert.Null(StoredModel.TryParse($"models/{Team:D}/shapes/1", Team));
    }
}
