using VqaPipeline.Ml.Models.Vilt;
using TorchSharp;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Training;

/// <summary>torch.optim.AdamW's settings; the defaults are torch's, with transformers' usual learning rate.</summary>
public sealed record AdamWOptions
{
    public double LearningRate { get; init; } = 5e-5;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.01;
}

/// <summary>The loss of one step and the global L2 norm of its gradients (before the update).</summary>
public sealed record TrainingStepResult(float Loss, double GradientNorm);

/// <summary>
/// Fine-tunes a <see cref="ViltForQuestionAnswering"/> with AdamW on the VQA soft-score loss, one batch per step, as
/// <c>model.train(); model(**inputs, labels=labels).loss.backward(); optimizer.step()</c> does in Python.
/// </summary>
public sealed class ViltTrainer : IDisposable
{
    private readonly ViltForQuestionAnswering model;
    private readonly optim.Optimizer optimizer;
    private readonly IReadOnlyList<TorchSharp.Modules.Parameter> parameters;

    public ViltTrainer(ViltForQuestionAnswering model, AdamWOptions? options = null)
    {
        options ??= new AdamWOptions();
        this.model = model;
        parameters = model.parameters().ToList();
        optimizer = optim.AdamW(parameters, lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2,
            eps: options.Epsilon, weight_decay: options.WeightDecay);
    }

    /// <summary>Forward, loss and backward on one batch; the gradients stay on the parameters until <see cref="ApplyGradients"/>.</summary>
    public float ComputeGradients(ViltInputs inputs, Tensor labels)
    {
        if (inputs.InputIds.shape[0] == 0)
            throw new InvalidTrainingBatchException("the training batch is empty: give at least one example.");
        model.train();
        optimizer.zero_grad();
        using var scope = NewDisposeScope();
        var output = model.forward(inputs);
        var loss = ViltQuestionAnsweringLoss.Compute(output.Logits, labels);
        loss.backward();
        return loss.item<float>();
    }

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
    public void ApplyGradients()
    {
        using var scope = NewDisposeScope();
        optimizer.step();
    }

    /// <summary>A whole training step: gradients, their norm, then the AdamW update.</summary>
    public TrainingStepResult Step(ViltInputs inputs, Tensor labels)
    {
        var loss = ComputeGradients(inputs, labels);
        var norm = GradientNorm();
        ApplyGradients();
        return new TrainingStepResult(loss, norm);
    }

    public void Dispose() => optimizer.Dispose();
}
