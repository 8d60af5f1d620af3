using TorchSharp;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models;
using TorchSharp.Modules;
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
/// torch.optim.AdamW (single-tensor path, no amsgrad), written out so its state — <c>exp_avg</c>, <c>exp_avg_sq</c> and
/// <c>step</c> per parameter — can be saved and restored exactly for resumable training. Parameters named in
/// <paramref name="noDecay"/> get no weight decay (transformers' usual bias/LayerNorm group).
/// With <paramref name="fp32Masters"/> (mixed precision: the model computes in bfloat16), the update is applied to the
/// float32 master copy of each parameter and the model's low-precision parameter is then set from it, so updates
/// smaller than a bfloat16 step are not lost; the masters are part of the saved state.
/// </summary>
public sealed class AdamW(IReadOnlyList<(string Name, Parameter Parameter)> parameters, AdamWOptions options,
    IReadOnlySet<string>? noDecay = null, IReadOnlyDictionary<string, Tensor>? fp32Masters = null) : IDisposable
{
    private const string ExpAvg = "exp_avg/";
    private const string ExpAvgSq = "exp_avg_sq/";
    private const string StepKey = "step/";
    private const string MasterKey = "master/";

    private readonly Dictionary<string, ParameterState> states = new(StringComparer.Ordinal);

    /// <summary>The float32 master weights of a mixed-precision run, by parameter name; null for a float32 run.</summary>
    public IReadOnlyDictionary<string, Tensor>? Masters { get; } = fp32Masters;

    /// <summary>
    /// Float32 copies of <paramref name="model"/>'s parameters, taken before the model is cast to a lower precision,
    /// to pass as <c>fp32Masters</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, Tensor> CaptureMasters(TorchSharp.torch.nn.Module model)
    {
        using var noGrad = no_grad();
        return model.named_parameters().ToDictionary(
            pair => pair.name,
            pair => pair.parameter.detach().to(ScalarType.Float32).clone().DetachFromDisposeScope(),
            StringComparer.Ordinal);
    }

    /// <summary>Sets every parameter of <paramref name="model"/> (cast back to float32) to its master weight.</summary>
    public void CopyMastersTo(TorchSharp.torch.nn.Module model)
    {
        if (Masters is null) return;
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
            parameter.copy_(Masters[name]);
    }

    public AdamWOptions Options { get; } = options;

    /// <summary>The learning rate of the next <see cref="Step"/> (a scheduler sets it before each step).</summary>
    public double LearningRate { get; set; } = options.LearningRate;

    /// <summary>Drops every parameter's gradient (torch's <c>zero_grad(set_to_none=True)</c>), so unused parameters are not updated.</summary>
    public void ZeroGradients()
    {
        foreach (var (_, parameter) in parameters)
            parameter.grad = null;
    }

    /// <summary>One update of every parameter that has a gradient, as torch's <c>_single_tensor_adamw</c> does it.</summary>
    public void Step()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, parameter) in parameters)
        {
            if (parameter.grad is null) continue;
            var weight = Masters?[name] ?? parameter;
            var grad = Masters is null ? parameter.grad : parameter.grad.to(ScalarType.Float32);
            var state = StateOf(name, weight);
            state.Step++;
            var decay = noDecay?.Contains(name) == true ? 0.0 : Options.WeightDecay;
            var biasCorrection1 = 1 - Math.Pow(Options.Beta1, state.Step);
            var biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(Options.Beta2, state.Step));
            // Scalars held in `using` variables: an implicit double-to-Scalar conversion leaves the Scalar unreferenced
            // during the native call, and a GC finalizing it there hands libtorch freed memory (seen as a crash in
            // Scalar::toDouble after some thousands of steps).
            using var keep = (1 - LearningRate * decay).ToScalar();
            using var beta2 = Options.Beta2.ToScalar();
            using var squaredAveraging = (1 - Options.Beta2).ToScalar();
            using var correction2 = biasCorrection2Sqrt.ToScalar();
            using var epsilon = Options.Epsilon.ToScalar();
            using var stepSize = (-LearningRate / biasCorrection1).ToScalar();
            weight.mul_(keep);
            state.ExpAvg.lerp_(grad, 1 - Options.Beta1); // a 0-dim tensor, kept alive by the dispose scope
            state.ExpAvgSq.mul_(beta2).addcmul_(grad, grad, squaredAveraging);
            var denominator = state.ExpAvgSq.sqrt().div_(correction2).PlusInPlace(epsilon);
            weight.addcdiv_(state.ExpAvg, denominator, stepSize);
            if (Masters is not null) parameter.copy_(weight);
        }
    }

    /// <summary>The state as named tensors (<c>exp_avg/NAME</c>, <c>exp_avg_sq/NAME</c>, <c>step/NAME</c>), on the CPU.</summary>
    public IReadOnlyList<CheckpointTensor> StateTensors()
    {
        var tensors = new List<CheckpointTensor>();
        foreach (var (name, state) in states)
        {
            tensors.Add(ToCheckpointTensor(ExpAvg + name, state.ExpAvg));
            tensors.Add(ToCheckpointTensor(ExpAvgSq + name, state.ExpAvgSq));
            using var step = tensor((float)state.Step);
            tensors.Add(ToCheckpointTensor(StepKey + name, step));
        }
        foreach (var (name, master) in Masters ?? new Dictionary<string, Tensor>())
            tensors.Add(ToCheckpointTensor(MasterKey + name, master));
        return tensors;
    }

    /// <summary>Replaces the state with one written by <see cref="StateTensors"/>.</summary>
    public void LoadState(StateDict saved)
    {
        foreach (var state in states.Values) state.Dispose();
        states.Clear();
        using var noGrad = no_grad();
        foreach (var (name, parameter) in parameters)
        {
            if (!saved.ContainsKey(StepKey + name)) continue;
            if (!saved.ContainsKey(ExpAvg + name) || !saved.ContainsKey(ExpAvgSq + name))
                throw new TrainingCheckpointException($"the optimizer state has a step for '{name}' but not its moments.");
            var weight = Masters?[name] ?? parameter;
            var expAvg = saved[ExpAvg + name].ToTorch().to(weight.dtype, weight.device);
            var expAvgSq = saved[ExpAvgSq + name].ToTorch().to(weight.dtype, weight.device);
            if (!expAvg.shape.SequenceEqual(parameter.shape) || !expAvgSq.shape.SequenceEqual(parameter.shape))
                throw new TrainingCheckpointException($"the optimizer state of '{name}' does not have the parameter's shape.");
            states[name] = new ParameterState(expAvg, expAvgSq) { Step = (long)saved[StepKey + name].ToTorch().item<float>() };
        }
        if (Masters is null) return;
        foreach (var (name, parameter) in parameters)
        {
            if (!saved.ContainsKey(MasterKey + name))
                throw new TrainingCheckpointException(
                    $"the checkpoint has no float32 master weight of '{name}': it was not written by a mixed-precision run.");
            using var master = saved[MasterKey + name].ToTorch();
            Masters[name].copy_(master);
            parameter.copy_(Masters[name]);
        }
    }

    public void Dispose()
    {
        foreach (var state in states.Values) state.Dispose();
        states.Clear();
        foreach (var master in Masters?.Values ?? []) master.Dispose();
    }

    private ParameterState StateOf(string name, Tensor parameter)
    {
        if (states.TryGetValue(name, out var state)) return state;
        state = new ParameterState(zeros_like(parameter).DetachFromDisposeScope(), zeros_like(parameter).DetachFromDisposeScope());
        states[name] = state;
        return state;
    }

    private static CheckpointTensor ToCheckpointTensor(string name, Tensor value)
    {
        using var cpu = value.detach().to(ScalarType.Float32).cpu().contiguous();
        return new CheckpointTensor(name, TensorDType.Float32, cpu.shape, cpu.bytes.ToArray());
    }

    private sealed class ParameterState(Tensor expAvg, Tensor expAvgSq) : IDisposable
    {
        public Tensor ExpAvg { get; } = expAvg;
        public Tensor ExpAvgSq { get; } = expAvgSq;
        public long Step { get; set; }

        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
        }
    }
}

/// <summary>A training checkpoint cannot be used to resume (missing, incomplete, or made with other settings).</summary>
public sealed class TrainingCheckpointException(string message) : VqaPipelineException(message);
