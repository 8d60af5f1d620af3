using VqaPipeline.Ml.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>
/// Fine-tunes a <see cref="ViltForQuestionAnswering"/> with AdamW on the VQA soft-score loss, one batch per step, as
/// <c>model.train(); model(**inputs, labels=labels).loss.backward(); optimizer.step()</c> does in Python.
/// </summary>
public sealed class ViltTrainer : IDisposable
{
    private readonly ViltForQuestionAnswering model;
    private readonly IReadOnlyList<TorchSharp.Modules.Parameter> parameters;

    /// <param name="noDecay">Parameter names that get no weight decay; see <see cref="NoDecayParameterNames"/>.</param>
    /// <param name="fp32Masters">For mixed precision: float32 copies of the parameters (see <see cref="AdamW.CaptureMasters"/>).</param>
    public ViltTrainer(ViltForQuestionAnswering model, AdamWOptions? options = null, IReadOnlySet<string>? noDecay = null,
        IReadOnlyDictionary<string, Tensor>? fp32Masters = null)
    {
        this.model = model;
        var named = model.named_parameters().Select(pair => (pair.name, pair.parameter)).ToList();
        parameters = named.Select(pair => pair.parameter).ToList();
        Optimizer = new AdamW(named, options ?? new AdamWOptions(), noDecay, fp32Masters);
    }

    /// <summary>The optimizer, whose learning rate and state a training run sets and saves.</summary>
    public AdamW Optimizer { get; }

    /// <summary>transformers Trainer's no-decay group: every bias and every LayerNorm parameter.</summary>
    public static IReadOnlySet<string> NoDecayParameterNames(nn.Module model)
    {
        var layerNorms = model.named_modules()
            .Where(pair => pair.module is TorchSharp.Modules.LayerNorm)
            .Select(pair => pair.name + ".")
            .ToList();
        return model.named_parameters()
            .Select(pair => pair.name)
            .Where(name => name.EndsWith(".bias", StringComparison.Ordinal) || name == "bias" ||
                           layerNorms.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)))
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Forward, loss and backward on one batch; the gradients stay on the parameters until <see cref="ApplyGradients"/>.</summary>
    public float ComputeGradients(ViltInputs inputs, Tensor labels)
    {
        Optimizer.ZeroGradients();
        return AccumulateGradients(inputs, labels, lossScale: 1.0);
    }

    /// <summary>
    /// Forward, loss and backward of <c>loss * lossScale</c>, adding to the gradients already there (gradient
    /// accumulation: transformers' Trainer scales each micro-batch's loss by 1 / accumulation steps). Returns the unscaled loss.
    /// </summary>
    public float AccumulateGradients(ViltInputs inputs, Tensor labels, double lossScale)
    {
        if (inputs.InputIds.shape[0] == 0)
            throw new InvalidTrainingBatchException("the training batch is empty: give at least one example.");
        model.train();
        using var scope = NewDisposeScope();
        var output = model.forward(inputs);
        // The loss is computed in float32 whatever the model computes in, as torch.autocast does for BCE: a bfloat16
        // sum over thousands of labels would lose the small per-label terms.
        var loss = output.Logits.dtype == ScalarType.Float32
            ? ViltQuestionAnsweringLoss.Compute(output.Logits, labels)
            : ViltQuestionAnsweringLoss.Compute(output.Logits.to(ScalarType.Float32), labels.to(ScalarType.Float32));
        using var scale = lossScale.ToScalar();
        (lossScale == 1.0 ? loss : loss.mul(scale)).backward();
        return loss.item<float>();
    }

    /// <summary>Clears the gradients before a new accumulation.</summary>
    public void ZeroGradients() => Optimizer.ZeroGradients();

    /// <summary>The L2 norm of all parameter gradients taken together (what <c>clip_grad_norm_</c> measures).</summary>
    public double GradientNorm()
    {
        using var scope = NewDisposeScope();
        var sumOfSquares = parameters
            .Select(parameter => parameter.grad)
            .Where(grad => grad is not null)
            .Sum(grad => grad!.to(float64).square().sum().item<double>());
        return Math.Sqrt(sumOfSquares);
    }

    /// <summary>One AdamW update from the gradients of the last <see cref="ComputeGradients"/>.</summary>
    public void ApplyGradients() => Optimizer.Step();

    /// <summary>A whole training step: gradients, their norm, then the AdamW update.</summary>
    public TrainingStepResult Step(ViltInputs inputs, Tensor labels)
    {
        var loss = ComputeGradients(inputs, labels);
        var norm = GradientNorm();
        ApplyGradients();
        return new TrainingStepResult(loss, norm);
    }

    public void Dispose() => Optimizer.Dispose();
}
