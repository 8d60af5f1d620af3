using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Models;

/// <summary>
/// Where a patch is matters once the position embeddings are not zero. The parity fixtures cannot show this: Python
/// saves ViLT's position embeddings as zeros, so a model that lost them would still match every fixture.
/// </summary>
public sealed class ViltPositionTests(ITestOutputHelper output)
{
    // Zero positions leave the two images the same set of patch tokens, which the model sees in a random order (HF
    // shuffles patches even in eval): the logits may differ only by float32 rounding, which grows with their size.
    // Measured: 1.5 ulps of the largest logit on the shared fixture (patch 32, hidden 32, initializer_range 0.2), 4 ulps
    // with patch 16, hidden 48 and initializer_range 1.0 (largest logit 14); 16 ulps leaves room for deeper models.
    private const float RoundingUlps = 16;

    // Set positions must move the logits by far more than rounding: a thousandth of their size.
    private const float MeaningfulChange = 1e-3f;

    [Fact]
    public void Moving_a_patch_changes_the_answer_scores_when_positions_are_set_and_not_when_they_are_zero()
    {
        var config = Training.ViltInitializationTests.SineCosineConfig();
        // A 3 x 3 patch grid of the fixture's own patch size; the position table is sized from the same image size.
        var patch = config.PatchSize;
        var side = 3 * patch;
        config.ImageSize = side;
        config.HiddenDropoutProb = 0;
        config.AttentionProbsDropoutProb = 0;
        using var model = new ViltForQuestionAnswering(config);
        ViltInitializer.Initialize(model, config, seed: 5);
        model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();

        // One bright patch-sized block in the top-left cell, or the same block in the bottom-right one.
        var topLeft = full(1, 3, side, side, -1.0f);
        topLeft[.., .., 0..patch, 0..patch] = ones(1, 3, patch, patch);
        var bottomRight = full(1, 3, side, side, -1.0f);
        bottomRight[.., .., (2 * patch)..side, (2 * patch)..side] = ones(1, 3, patch, patch);
        // Four ordinary word pieces: ids within any vocabulary, no longer than any text position table.
        var textLength = Math.Min(4, config.MaxPositionEmbeddings);
        var ids = tensor(Enumerable.Range(0, textLength).Select(i => (long)((2 + 5 * i) % config.VocabSize)).ToArray()).unsqueeze(0);
        Tensor Logits(Tensor pixels) => model.forward(new ViltInputs(
            ids, ones(1, textLength, dtype: int64), zeros(1, textLength, dtype: int64), pixels, ones(1, side, side, dtype: int64))).Logits;

        var (zeroTopLeft, zeroBottomRight) = (Logits(topLeft), Logits(bottomRight));
        var scale = Math.Max(zeroTopLeft.abs().max().item<float>(), zeroBottomRight.abs().max().item<float>());
        var rounding = RoundingUlps * (MathF.BitIncrement(scale) - scale);
        var zeroDifference = (zeroTopLeft - zeroBottomRight).abs().max().item<float>();
        output.WriteLine($"patch {patch}, hidden {config.HiddenSize}, largest logit {scale:g4}: zero positions differ by {zeroDifference:g3} (allowed {rounding:g3})");
        Assert.True(zeroDifference <= rounding, $"zero positions: only the contents should count, yet the logits differ by {zeroDifference:g3} > {rounding:g3}");

        ViltInitializer.InitializeImagePositionsSinCos(model);
        var difference = (Logits(topLeft) - Logits(bottomRight)).abs().max().item<float>();
        output.WriteLine($"with positions set they differ by {difference:g3}");
        Assert.True(difference > MeaningfulChange * scale, $"with positions set the two images still give the same logits (largest difference {difference:g3})");
        model.train();
        var trainingDifference = (Logits(topLeft) - Logits(bottomRight)).abs().max().item<float>();
        Assert.True(trainingDifference > MeaningfulChange * scale, $"in training mode the two images give the same logits (largest difference {trainingDifference:g3})");
    }
}
