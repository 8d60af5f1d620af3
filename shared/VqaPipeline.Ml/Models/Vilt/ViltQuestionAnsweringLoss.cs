using TorchSharp;
using VqaPipeline.Ml.Checkpoints;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>
/// The loss transformers' <c>ViltForQuestionAnswering</c> computes when given labels: binary cross-entropy with logits
/// over every (example, answer) pair, averaged, then multiplied by the number of answers (so it is a per-example sum).
/// </summary>
public static class ViltQuestionAnsweringLoss
{
    /// <summary><c>binary_cross_entropy_with_logits(logits, labels, reduction="mean") * num_labels</c>, a scalar.</summary>
    public static Tensor Compute(Tensor logits, Tensor labels)
    {
        if (!logits.shape.SequenceEqual(labels.shape))
            throw new InvalidTrainingBatchException(
                $"labels have shape [{string.Join(", ", labels.shape)}] but the logits have [{string.Join(", ", logits.shape)}]; build labels with one column per answer.");
        using var scope = NewDisposeScope();
        var mean = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), reduction: nn.Reduction.Mean);
        using var labelCount = logits.shape[^1].ToScalar();
        return mean.mul(labelCount).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The dense soft-score label matrix <c>labels[i, label2id[answer]] = score</c> (zero elsewhere). Answers outside
    /// <paramref name="config"/>'s label2id are left out, as ViLT's VQA training leaves them out.
    /// </summary>
    public static Tensor Labels(IReadOnlyList<IReadOnlyDictionary<string, float>> targets, PretrainedConfig config)
    {
        var numLabels = config.NumLabels;
        var dense = new float[targets.Count * numLabels];
        for (var row = 0; row < targets.Count; row++)
            foreach (var (answer, score) in targets[row])
                if (config.Label2Id.TryGetValue(answer, out var id) && id >= 0 && id < numLabels)
                    dense[row * numLabels + id] = score;
        return tensor(dense, [targets.Count, numLabels]);
    }
}

/// <summary>A training batch that cannot be used as given (wrong label shape, empty batch).</summary>
public sealed class InvalidTrainingBatchException(string message) : VqaPipelineException(message);
