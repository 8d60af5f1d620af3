using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Tests.Models;

namespace VqaPipeline.Ml.Tests.Pipelines;

/// <summary>A checkpoint that leaves weights unset is loaded the way transformers loads it, and says so.</summary>
public sealed class VqaEngineLoadingTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("vqa-headless-");

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public void A_complete_checkpoint_has_no_load_warning()
    {
        using var pipeline = VqaEngine.FromPretrained(ViltFixture.ModelFolder);
        Assert.Null(pipeline.LoadWarning);
    }

    [Fact]
    public void A_checkpoint_without_the_answer_head_warns_that_it_was_newly_initialized()
    {
        foreach (var file in Directory.GetFiles(ViltFixture.ModelFolder).Where(f => !Path.GetFileName(f).StartsWith("pytorch_model")))
            File.Copy(file, Path.Combine(folder.FullName, Path.GetFileName(file)));
        var weights = Path.Combine(folder.FullName, "model.safetensors");
        using (var full = Safetensors.Read(Path.Combine(ViltFixture.ModelFolder, "model.safetensors")))
        {
            var backboneOnly = full.Values.Where(t => !t.Name.StartsWith("classifier.", StringComparison.Ordinal)).ToList();
            File.Delete(weights);
            Safetensors.Write(weights, backboneOnly);
        }

        using var pipeline = VqaEngine.FromPretrained(folder.FullName);

        Assert.NotNull(pipeline.LoadWarning);
        Assert.Contains("newly initialized", pipeline.LoadWarning);
        Assert.Contains("classifier.3.weight", pipeline.LoadWarning);
    }
}
