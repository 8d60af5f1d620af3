using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Vilt;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Checkpoints;

public class ModuleWeightsTests
{
    private sealed class TinyEncoder : nn.Module<Tensor, Tensor>
    {
        public readonly Linear dense;
        public readonly LayerNorm layernorm;

        public TinyEncoder(long width = 3) : base(nameof(TinyEncoder))
        {
            dense = nn.Linear(4, width);
            layernorm = nn.LayerNorm(width);
            RegisterComponents();
            register_buffer("position_ids", arange(5), persistent: false);
        }

        public override Tensor forward(Tensor input) => layernorm.call(dense.call(input));
    }

    private sealed class TinyForTask : nn.Module<Tensor, Tensor>
    {
        public readonly TinyEncoder vilt;
        public readonly Linear classifier;

        public TinyForTask(long classes = 2) : base(nameof(TinyForTask))
        {
            vilt = new TinyEncoder();
            classifier = nn.Linear(3, classes);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => classifier.call(vilt.call(input));
    }

    private sealed class TinyLanguageModel : nn.Module<Tensor, Tensor>
    {
        public readonly Embedding embed_tokens;
        public readonly Linear lm_head;

        public TinyLanguageModel() : base(nameof(TinyLanguageModel))
        {
            embed_tokens = nn.Embedding(5, 3);
            lm_head = nn.Linear(3, 5, hasBias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => lm_head.call(embed_tokens.call(input));
    }

    private static readonly LoadOptions Vilt = new() { BaseModelPrefix = "vilt" };

    private static CheckpointTensor Floats(string name, long[] shape, float start = 1)
    {
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var values = Enumerable.Range(0, count).Select(i => start + i / 8f).ToArray();
        return new CheckpointTensor(name, TensorDType.Float32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }

    private static StateDict TaskCheckpoint(params string[] leaveOut) => new(new[]
    {
        Floats("vilt.dense.weight", [3, 4]),
        Floats("vilt.dense.bias", [3], 2),
        Floats("vilt.layernorm.weight", [3], 3),
        Floats("vilt.layernorm.bias", [3], 4),
        Floats("classifier.weight", [2, 3], 5),
        Floats("classifier.bias", [2], 6),
    }.Where(tensor => !leaveOut.Contains(tensor.Name)));

    private static float[] Values(Tensor tensor) => tensor.to_type(ScalarType.Float32).data<float>().ToArray();

    private static float[] Values(CheckpointTensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    [Fact]
    public void A_matching_checkpoint_loads_every_weight()
    {
        using var model = new TinyForTask();
        using var weights = TaskCheckpoint();

        var report = ModuleWeights.Load(model, weights, Vilt);

        Assert.True(report.IsComplete);
        Assert.Equal(Values(weights["vilt.dense.weight"]), Values(model.vilt.dense.weight!));
        Assert.Equal(Values(weights["classifier.bias"]), Values(model.classifier.bias!));
        Assert.StartsWith("All the weights of TinyForTask were initialized from the model checkpoint at ckpt.", report.Describe("TinyForTask", "ckpt"));
    }

    [Fact]
    public void Missing_unexpected_and_mismatched_keys_are_reported_as_transformers_does()
    {
        using var model = new TinyForTask(classes: 4);
        using var weights = new StateDict(TaskCheckpoint("classifier.bias").Values
            .Append(Floats("vilt.pooler.dense.weight", [3, 3]))
            .Append(Floats("vilt.position_ids", [5])));
        var untouched = Values(model.classifier.weight!);

        var report = ModuleWeights.Load(model, weights, Vilt with { IgnoreMismatchedSizes = true });

        Assert.Equal(["classifier.bias"], report.MissingKeys);
        Assert.Equal(["vilt.pooler.dense.weight"], report.UnexpectedKeys);
        var mismatch = Assert.Single(report.MismatchedKeys);
        Assert.Equal("classifier.weight", mismatch.Key);
        Assert.Equal([2, 3], mismatch.CheckpointShape);
        Assert.Equal([4, 3], mismatch.ModelShape);
        Assert.Equal(untouched, Values(model.classifier.weight!));
        Assert.Equal(Values(weights["vilt.dense.weight"]), Values(model.vilt.dense.weight!));
        Assert.Equal(
            "Some weights of the model checkpoint at org/tiny were not used when initializing TinyForTask: ['vilt.pooler.dense.weight']\n" +
            "- This IS expected if you are initializing TinyForTask from the checkpoint of a model trained on another task or with another architecture (e.g. initializing a BertForSequenceClassification model from a BertForPreTraining model).\n" +
            "- This IS NOT expected if you are initializing TinyForTask from the checkpoint of a model that you expect to be exactly identical (initializing a BertForSequenceClassification model from a BertForSequenceClassification model).\n" +
            "Some weights of TinyForTask were not initialized from the model checkpoint at org/tiny and are newly initialized: ['classifier.bias']\n" +
            "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.\n" +
            "Some weights of TinyForTask were not initialized from the model checkpoint at org/tiny and are newly initialized because the shapes did not match:\n" +
            "- classifier.weight: found shape torch.Size([2, 3]) in the checkpoint and torch.Size([4, 3]) in the model instantiated\n" +
            "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.",
            report.Describe("TinyForTask", "org/tiny"));
    }

    [Fact]
    public void A_shape_mismatch_fails_unless_ignored_and_copies_nothing()
    {
        using var model = new TinyForTask(classes: 4);
        using var weights = TaskCheckpoint();
        var before = Values(model.vilt.dense.weight!);

        var error = Assert.Throws<CheckpointMismatchException>(() => ModuleWeights.Load(model, weights, Vilt));

        Assert.Contains("size mismatch for classifier.weight: copying a param with shape torch.Size([2, 3]) from checkpoint, the shape in current model is torch.Size([4, 3])", error.Message);
        Assert.Equal(before, Values(model.vilt.dense.weight!));
    }

    [Fact]
    public void Strict_fails_listing_missing_and_unexpected_keys()
    {
        using var model = new TinyForTask();
        using var weights = new StateDict(TaskCheckpoint("classifier.bias").Values.Append(Floats("extra.weight", [1])));

        var error = Assert.Throws<CheckpointMismatchException>(() => ModuleWeights.Load(model, weights, Vilt with { Strict = true }));

        Assert.Contains("missing keys ['classifier.bias']", error.Message);
        Assert.Contains("unexpected keys ['extra.weight']", error.Message);
    }

    [Fact]
    public void A_bare_model_checkpoint_loads_into_the_task_model_by_adding_the_prefix()
    {
        using var model = new TinyForTask();
        using var weights = new StateDict(TaskCheckpoint("classifier.weight", "classifier.bias").Values
            .Select(tensor => new CheckpointTensor(tensor.Name["vilt.".Length..], tensor.DType, tensor.Shape, tensor.Data)));

        var report = ModuleWeights.Load(model, weights, Vilt);

        Assert.Equal(["classifier.bias", "classifier.weight"], report.MissingKeys);
        Assert.Empty(report.UnexpectedKeys);
        Assert.Equal(Values(weights["layernorm.bias"]), Values(model.vilt.layernorm.bias!));
    }

    [Fact]
    public void A_task_checkpoint_loads_into_the_bare_model_by_stripping_the_prefix()
    {
        using var model = new TinyEncoder();
        using var weights = TaskCheckpoint();

        var report = ModuleWeights.Load(model, weights, Vilt);

        Assert.Empty(report.MissingKeys);
        Assert.Equal(["classifier.bias", "classifier.weight"], report.UnexpectedKeys);
        Assert.Equal(Values(weights["vilt.dense.bias"]), Values(model.dense.bias!));
    }

    [Fact]
    public void Head_weights_without_base_weights_are_a_corrupted_checkpoint()
    {
        using var model = new TinyForTask();
        using var weights = new StateDict([Floats("dense.weight", [3, 4]), Floats("classifier.bias", [2])]);
        Assert.Throws<CheckpointFormatException>(() => ModuleWeights.Load(model, weights, Vilt));
    }

    [Fact]
    public void An_absent_tied_weight_is_not_missing_and_receives_its_source()
    {
        using var model = new TinyLanguageModel();
        using var weights = new StateDict([Floats("embed_tokens.weight", [5, 3])]);
        var tied = new LoadOptions { TiedWeights = new Dictionary<string, string> { ["lm_head.weight"] = "embed_tokens.weight" } };

        Assert.Equal(["lm_head.weight"], ModuleWeights.Load(model, weights, new LoadOptions()).MissingKeys);
        var report = ModuleWeights.Load(model, weights, tied);

        Assert.True(report.IsComplete);
        Assert.Equal(Values(weights["embed_tokens.weight"]), Values(model.lm_head.weight!));
    }

    [Theory]
    [InlineData(TensorDType.Float16)]
    [InlineData(TensorDType.BFloat16)]
    [InlineData(TensorDType.Float64)]
    public void Weights_are_converted_to_the_parameter_dtype(TensorDType dtype)
    {
        using var model = new TinyEncoder();
        using var source = tensor(new float[] { 0.5f, -1.25f, 3f }).to_type(dtype switch
        {
            TensorDType.Float16 => ScalarType.Float16,
            TensorDType.BFloat16 => ScalarType.BFloat16,
            _ => ScalarType.Float64,
        });
        using var weights = new StateDict([new CheckpointTensor("layernorm.weight", dtype, [3], source.bytes.ToArray())]);

        ModuleWeights.Load(model, weights);

        Assert.Equal(ScalarType.Float32, model.layernorm.weight!.dtype);
        Assert.Equal(new[] { 0.5f, -1.25f, 3f }, Values(model.layernorm.weight!));
    }

    [Fact]
    public void To_torch_keeps_dtype_shape_and_bytes()
    {
        var bytes = Enumerable.Range(0, 6 * 8).Select(i => (byte)i).ToArray();
        var checkpoint = new CheckpointTensor("x", TensorDType.Int64, [2, 3], bytes);

        using var converted = checkpoint.ToTorch();

        Assert.Equal(ScalarType.Int64, converted.dtype);
        Assert.Equal(new long[] { 2, 3 }, converted.shape);
        Assert.Equal(bytes, converted.bytes.ToArray());
    }

    private sealed class ViltPooler : nn.Module<Tensor, Tensor>
    {
        public readonly Linear dense;

        public ViltPooler(int hidden) : base(nameof(ViltPooler))
        {
            dense = nn.Linear(hidden, hidden);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => dense.call(input);
    }

    private sealed class ViltWithPoolerOnly : nn.Module<Tensor, Tensor>
    {
        public readonly nn.Module<Tensor, Tensor> vilt;

        public ViltWithPoolerOnly(int hidden) : base(nameof(ViltWithPoolerOnly))
        {
            vilt = nn.Sequential(("pooler", new ViltPooler(hidden)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => vilt.call(input);
    }

    [Fact]
    public void A_fixture_checkpoint_loads_into_a_module_shaped_by_its_config()
    {
        var folder = Fixtures.PathOf("vilt-tiny");
        var config = ModelConfig.Load<ViltConfig>(folder);
        using var model = new ViltWithPoolerOnly(config.HiddenSize);
        using var weights = CheckpointReader.ReadFolder(folder);

        var report = ModuleWeights.Load(model, weights, Vilt);

        Assert.Empty(report.MissingKeys);
        Assert.Equal(weights.Count - 2, report.UnexpectedKeys.Count);
        Assert.Equal(Values(weights["vilt.pooler.dense.weight"]), Values(model.state_dict()["vilt.pooler.dense.weight"]));
    }
}
