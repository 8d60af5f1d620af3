using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models;
using VqaPipeline.Ml.Models.Blip2;
using VqaPipeline.Ml.Tests.Checkpoints;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Models;

/// <summary>
/// A BLIP-2 checkpoint loads memory-mapped, one copy of the weights at a time. The full-size check writes ~7.5 GB and
/// runs only when VQA_BLIP2_MEMORY_CHECK names a folder for the checkpoint (it is reused when already there).
/// </summary>
public sealed class Blip2LoadMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void A_random_checkpoint_written_from_a_config_loads_every_key_of_its_model()
    {
        using var folder = new TemporaryFolder();
        var config = ModelConfig.Load<Blip2Config>(Fixtures.PathOf("blip2-opt-tiny"));

        var bytes = RandomCheckpoint.Write(folder.Path, config, () => new Blip2ForConditionalGeneration(config), ScalarType.BFloat16,
            tiedKeys: Blip2ForConditionalGeneration.LoadOptions.TiedWeights.Keys.ToArray());

        using var weights = CheckpointReader.ReadFolder(folder.Path);
        Assert.All(weights.Values, t => Assert.Equal(TensorDType.BFloat16, t.DType));
        Assert.DoesNotContain("language_model.lm_head.weight", weights.Keys);
        Assert.Equal(bytes, weights.Values.Sum(t => (long)t.Data.Length));
        using var model = new Blip2ForConditionalGeneration(ModelConfig.Load<Blip2Config>(folder.Path));
        var report = ModuleWeights.Load(model, weights, Blip2ForConditionalGeneration.LoadOptions with { Strict = true });
        Assert.True(report.IsComplete);
        var values = weights["language_model.model.decoder.embed_tokens.weight"].ToTorch().to(ScalarType.Float32);
        Assert.InRange(values.std().item<float>(), 0.015, 0.025);
    }

    [MemoryCheckFact]
    public void Loading_blip2_opt_2_7b_in_bfloat16_holds_at_most_1_2_times_its_weights()
    {
        var folder = Environment.GetEnvironmentVariable(MemoryCheckFactAttribute.Variable)!;

        var report = Blip2LoadMemoryCheck.Run(folder);

        output.WriteLine($"weights {report.WeightBytes / 1e9:F2} GB; resident before {report.ResidentBeforeBytes / 1e9:F2} GB, " +
                         $"peak {report.PeakResidentBytes / 1e9:F2} GB = {report.PeakOverWeights:F3} x weights " +
                         $"(growth {report.GrowthOverWeights:F3} x); load {report.LoadSeconds:F1} s");
        Assert.True(report.PeakOverWeights <= 1.2, $"peak resident memory is {report.PeakOverWeights:F3} x the weights");
    }
}

/// <summary>A fact that runs only when <see cref="Variable"/> names a folder for the 7.5 GB checkpoint.</summary>
public sealed class MemoryCheckFactAttribute : FactAttribute
{
    public const string Variable = "VQA_BLIP2_MEMORY_CHECK";

    public MemoryCheckFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable)))
            Skip = $"writes and loads a 7.5 GB checkpoint; set {Variable} to a folder for it (e.g. /tmp/blip2-opt-2.7b-random).";
    }
}
