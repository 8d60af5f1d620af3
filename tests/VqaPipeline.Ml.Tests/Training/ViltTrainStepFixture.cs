using System.Text.Json;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Tests.Models;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Training;

/// <summary>vilt-tiny/train-step: the batch it trained on, its soft-score targets and the recorded tensors.</summary>
internal static class ViltTrainStepFixture
{
    public static JsonElement Manifest => Fixtures.Manifest("vilt-tiny", "train-step", "manifest.json");

    public static string RecordedPath => Fixtures.PathOf("vilt-tiny", "train-step", "train_step.safetensors");

    public static IReadOnlyList<IReadOnlyDictionary<string, float>> Targets(JsonElement manifest) =>
        manifest.GetProperty("targets").EnumerateArray()
            .Select(row => (IReadOnlyDictionary<string, float>)row.EnumerateObject()
                .ToDictionary(answer => answer.Name, answer => answer.Value.GetSingle()))
            .ToList();

    public static IReadOnlyList<string> RecordedParameters(JsonElement manifest) =>
        manifest.GetProperty("params").EnumerateArray().Select(p => p.GetString()!).ToList();

    public static (ViltForQuestionAnswering Model, ViltConfig Config) LoadModel()
    {
        var config = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);
        var model = new ViltForQuestionAnswering(config);
        using var weights = CheckpointReader.ReadFolder(ViltFixture.ModelFolder);
        var report = ModuleWeights.Load(model, weights, new LoadOptions { BaseModelPrefix = ViltForQuestionAnswering.BaseModelPrefix });
        Assert.True(report.IsComplete, report.Describe(nameof(ViltForQuestionAnswering), ViltFixture.ModelFolder));
        return (model, config);
    }

    /// <summary>The expected batch's stored text inputs and pixel mask, with pixel values from our image processor.</summary>
    public static ViltInputs BatchInputs()
    {
        var batch = ViltFixture.Case(ViltFixture.Manifest.GetProperty("batch").GetProperty("name").GetString()!);
        using var stored = Safetensors.Read(Path.Combine(ViltFixture.ExpectedFolder, batch.File));
        var loader = new ImageLoader();
        var images = ViltImageProcessor.FromPretrained(ViltFixture.ModelFolder)
            .Preprocess(batch.Images.Select(image => loader.LoadFile(Fixtures.PathOf(image))).ToArray());
        var pixelMask = stored["pixel_mask"].ToTorch().to(int64);
        Assert.Equal(pixelMask.data<long>().ToArray(), images.PixelMask);
        return new ViltInputs(
            stored["input_ids"].ToTorch(),
            stored["attention_mask"].ToTorch(),
            stored["token_type_ids"].ToTorch(),
            tensor(images.PixelValues, [images.BatchSize, 3, images.Height, images.Width]),
            pixelMask);
    }
}
