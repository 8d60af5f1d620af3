using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Training;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Models;

/// <summary>
/// Where a patch is matters once the position embeddings are not zero. The parity fixtures cannot show this: Python
/// saves ViLT's position embeddings as zeros, so a model that lost them would still match every fixture.
/// </summary>
public sealed class ViltPositionTests
{
    [Fact]
    public void Moving_a_patch_changes_the_answer_scores_when_positions_are_set_and_not_when_they_are_zero()
    {
        var config = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);
        config.ImageSize = 96;
        config.HiddenDropoutProb = 0;
        config.AttentionProbsDropoutProb = 0;
        using var model = new ViltForQuestionAnswering(config);
        ViltInitializer.Initialize(model, config, seed: 5);
        model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();

        // A 96-pixel image: one bright 32-pixel block in the top-left cell, or the same block in the bottom-right one.
        var topLeft = full(1, 3, 96, 96, -1.0f);
        topLeft[.., .., 0..32, 0..32] = ones(1, 3, 32, 32);
        var bottomRight = full(1, 3, 96, 96, -1.0f);
        bottomRight[.., .., 64..96, 64..96] = ones(1, 3, 32, 32);
        Tensor Logits(Tensor pixels) => model.forward(new ViltInputs(
            tensor(new long[] { 2, 17, 5, 3 }).unsqueeze(0), ones(1, 4, dtype: int64), zeros(1, 4, dtype: int64),
            pixels, ones(1, 96, 96, dtype: int64))).Logits;

        Assert.True(Logits(topLeft).allclose(Logits(bottomRight), rtol: 0, atol: 1e-6), "zero positions: only the contents count");
        ViltInitializer.InitializeImagePositionsSinCos(model);
        var difference = (Logits(topLeft) - Logits(bottomRight)).abs().max().item<float>();
        Assert.True(difference > 1e-3, $"with positions set the two images still give the same logits (largest difference {difference})");
        model.train();
        var trainingDifference = (Logits(topLeft) - Logits(bottomRight)).abs().max().item<float>();
        Assert.True(trainingDifference > 1e-3, $"in training mode the two images give the same logits (largest difference {trainingDifference})");
    }
}
