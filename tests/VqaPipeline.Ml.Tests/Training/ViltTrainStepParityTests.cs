using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Training;
using Xunit.Abstractions;
using VqaPipeline.Ml.Models.Vilt;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Training;

/// <summary>One AdamW step on vilt-tiny against Python's recorded loss, gradients and updated parameters.</summary>
public class ViltTrainStepParityTests(ITestOutputHelper output)
{
    private const double LossTolerance = 1e-5;
    private const double GradientTolerance = 1e-4;
    // A step moves each parameter by about the learning rate (Adam's first update is lr · sign(g)): allow 2% of that,
    // and never less than 8 float32 ulps of the largest parameter, which bounds the rounding of param − update.
    private const double UpdateFraction = 0.02;
    private const float RoundingUlps = 8;
    private const double SignificantGradient = 1e-6;

    [Fact]
    public void Labels_follow_label2id()
    {
        var manifest = ViltTrainStepFixture.Manifest;
        var config = ModelConfig.Load<ViltConfig>(Models.ViltFixture.ModelFolder);
        using var recorded = Safetensors.Read(ViltTrainStepFixture.RecordedPath);
        using var labels = ViltQuestionAnsweringLoss.Labels(ViltTrainStepFixture.Targets(manifest), config);
        using var expected = recorded["labels"].ToTorch();
        Assert.True(expected.allclose(labels, rtol: 0, atol: 0));
    }

    [Fact]
    public void Loss_of_recorded_logits_matches_python()
    {
        using var recorded = Safetensors.Read(ViltTrainStepFixture.RecordedPath);
        using var loss = ViltQuestionAnsweringLoss.Compute(recorded["logits"].ToTorch(), recorded["labels"].ToTorch());
        var expected = recorded["loss"].ToTorch().item<float>();
        Assert.True(RelativeDifference(loss.item<float>(), expected) <= LossTolerance);
    }

    [Fact]
    public void One_adamw_step_matches_python()
    {
        var manifest = ViltTrainStepFixture.Manifest;
        var (model, config) = ViltTrainStepFixture.LoadModel();
        using var _ = model;
        using var recorded = Safetensors.Read(ViltTrainStepFixture.RecordedPath);
        var inputs = ViltTrainStepFixture.BatchInputs();
        using var labels = ViltQuestionAnsweringLoss.Labels(ViltTrainStepFixture.Targets(manifest), config);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var recordedNames = ViltTrainStepFixture.RecordedParameters(manifest);

        foreach (var name in recordedNames.Where(name => recorded.ContainsKey("before." + name)))
            Assert.True(recorded["before." + name].ToTorch().allclose(parameters[name].detach(), rtol: 0, atol: 0), $"{name} differs before the step");

        var adamW = new AdamWOptions();
        using var trainer = new ViltTrainer(model, adamW);
        var loss = trainer.ComputeGradients(inputs, labels);
        var lossDifference = RelativeDifference(loss, manifest.GetProperty("loss").GetDouble());
        output.WriteLine($"loss {loss} (python {manifest.GetProperty("loss").GetDouble()}), relative difference {lossDifference:g3}");
        Assert.True(lossDifference <= LossTolerance, $"loss relative difference {lossDifference:g3}");

        var gradientNorm = trainer.GradientNorm();
        var expectedNorm = manifest.GetProperty("global_grad_l2_norm").GetDouble();
        output.WriteLine($"global gradient norm {gradientNorm} (python {expectedNorm}), relative difference {RelativeDifference(gradientNorm, expectedNorm):g3}");
        Assert.True(RelativeDifference(gradientNorm, expectedNorm) <= GradientTolerance);

        var references = new Dictionary<string, Tensor>();
        foreach (var name in recordedNames)
        {
            Assert.True(recorded.ContainsKey("grad." + name), $"the fixture records no gradient for {name}");
            var reference = recorded["grad." + name].ToTorch();
            references[name] = reference;
            var gradient = parameters[name].grad!;
            var difference = (gradient - reference).norm().item<float>() / reference.norm().item<float>();
            output.WriteLine($"grad {name}: ‖g − g_ref‖/‖g_ref‖ = {difference:g3}");
            Assert.True(difference <= GradientTolerance, $"gradient of {name}: relative norm difference {difference:g3}");
        }

        trainer.ApplyGradients();
        foreach (var name in recordedNames.Where(name => recorded.ContainsKey("after_adamw." + name)))
        {
            var reference = references[name].abs();
            var significant = reference > reference.max() * SignificantGradient;
            var after = recorded["after_adamw." + name].ToTorch();
            var difference = (parameters[name].detach() - after).abs().masked_select(significant).max().item<float>();
            var largest = after.abs().max().item<float>();
            var tolerance = Math.Max(UpdateFraction * adamW.LearningRate, RoundingUlps * (MathF.BitIncrement(largest) - largest));
            output.WriteLine($"after AdamW {name}: max |Δ| = {difference:g3} over {significant.sum().item<long>()} of {reference.numel()} entries (allowed {tolerance:g3})");
            Assert.True(difference <= tolerance, $"{name} after the step: max |Δ| = {difference:g3} > {tolerance:g3}");
        }
    }

    private static double RelativeDifference(double actual, double expected) => Math.Abs(actual - expected) / Math.Abs(expected);
}
