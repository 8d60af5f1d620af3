using VqaPipeline.Ml.Checkpoints;
using TorchSharp;
using VqaPipeline.Ml.Pipelines;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary><see cref="IVqaClassifier"/> on TorchSharp: a <see cref="ViltForQuestionAnswering"/> on a device and dtype.</summary>
public sealed class TorchViltClassifier : IVqaClassifier
{
    private readonly ViltForQuestionAnswering model;
    private readonly Device device;
    private readonly ScalarType dtype;
    private readonly string modelFolder;

    private TorchViltClassifier(ViltForQuestionAnswering model, ViltConfig config, Device device, ScalarType dtype,
        LoadReport report, string modelFolder)
    {
        this.modelFolder = modelFolder;
        this.model = model;
        this.device = device;
        this.dtype = dtype;
        Config = config;
        LoadReport = report;
        Labels = Enumerable.Range(0, config.NumLabels)
            .Select(i => config.Id2Label.TryGetValue(i, out var label) ? label : $"LABEL_{i}").ToArray();
    }

    public ViltConfig Config { get; }

    /// <summary>What loading the checkpoint found missing, unexpected or mismatched.</summary>
    public LoadReport LoadReport { get; }

    public IReadOnlyList<string> Labels { get; }

    public string? LoadWarning => LoadReport.IsComplete ? null : LoadReport.Describe(nameof(ViltForQuestionAnswering), modelFolder);

    public int MaxTextLength => Config.MaxPositionEmbeddings;

    public string Runtime => $"torch {device} {dtype.ToString().ToLowerInvariant()}";

    /// <summary>Builds the model from <c>config.json</c> and loads its weights (safetensors, .bin or sharded).</summary>
    /// <param name="allowEmulatedBfloat16">Run bfloat16 even on a CPU that can only emulate it (see <see cref="TorchRuntime.EnsureDTypeRunsAtSpeed"/>).</param>
    public static TorchViltClassifier Load(string modelFolder, Device device, ScalarType dtype, bool allowEmulatedBfloat16 = false)
    {
        TorchRuntime.EnsureDTypeRunsAtSpeed(dtype, device, allowEmulatedBfloat16);
        if (ModelConfig.Load(modelFolder) is not ViltConfig config)
            throw new UnsupportedModelException($"'{modelFolder}' is not a ViLT model (config.json model_type must be 'vilt').");
        var model = new ViltForQuestionAnswering(config);
        LoadReport report;
        using (var weights = CheckpointReader.ReadFolder(modelFolder))
            report = ModuleWeights.Load(model, weights, new LoadOptions { BaseModelPrefix = ViltForQuestionAnswering.BaseModelPrefix });
        model.eval();
        model.to(device);
        if (dtype != ScalarType.Float32) model.to(dtype);
        return new TorchViltClassifier(model, config, device, dtype, report, modelFolder);
    }

    public float[] Logits(ClassifierBatch batch)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        long rows = batch.BatchSize, length = batch.TextLength;
        var images = batch.Images;
        var inputs = new ViltInputs(
            tensor(batch.InputIds, [rows, length], device: device),
            tensor(batch.AttentionMask, [rows, length], device: device),
            tensor(batch.TokenTypeIds, [rows, length], device: device),
            tensor(images.PixelValues, [rows, 3, images.Height, images.Width], device: device).to(dtype),
            // A processor without padding (do_pad false) returns no mask: every pixel is then valid, as HF assumes.
            images.PixelMask is { } mask
                ? tensor(mask, [rows, images.Height, images.Width], device: device)
                : ones(rows, images.Height, images.Width, dtype: ScalarType.Int64, device: device));
        var output = model.forward(inputs);
        return output.Logits.to(ScalarType.Float32).cpu().data<float>().ToArray();
    }

    public void Dispose() => model.Dispose();
}
