using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Onnx;
using VqaPipeline.Ml.Pipelines;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>
/// <see cref="IVqaClassifier"/> on ONNX Runtime: runs a folder's <c>model.onnx</c> (written by
/// <see cref="OnnxExporter"/>) with HF's input names; needs no weights file and no libtorch.
/// </summary>
public sealed class OnnxViltClassifier : IVqaClassifier
{
    private static readonly Dictionary<string, TensorElementType> ExpectedInputs = new()
    {
        ["input_ids"] = TensorElementType.Int64,
        ["attention_mask"] = TensorElementType.Int64,
        ["token_type_ids"] = TensorElementType.Int64,
        ["pixel_values"] = TensorElementType.Float,
        ["pixel_mask"] = TensorElementType.Int64,
    };

    private readonly OnnxSession session;
    private readonly string quantization;

    private OnnxViltClassifier(OnnxSession session, ViltConfig config)
    {
        this.session = session;
        Config = config;
        Labels = Enumerable.Range(0, config.NumLabels)
            .Select(i => config.Id2Label.TryGetValue(i, out var label) ? label : $"LABEL_{i}").ToArray();
        quantization = session.Session.ModelMetadata.CustomMetadataMap.TryGetValue("quantization", out var stored) && stored != "none"
            ? stored
            : "float32";
    }

    public ViltConfig Config { get; }

    public IReadOnlyList<string> Labels { get; }

    public int MaxTextLength => Config.MaxPositionEmbeddings;

    /// <summary>An export holds every weight it was made from (the exporter refuses incomplete checkpoints).</summary>
    public string? LoadWarning => null;

    public string Runtime => $"onnxruntime {session.Provider} {quantization}";

    public string? RuntimeWarning => session.Warning;

    /// <summary>Opens <c>model.onnx</c> in <paramref name="modelFolder"/>; labels and text length come from its config.json.</summary>
    /// <exception cref="ModelNotFoundException">The folder has no model.onnx.</exception>
    /// <exception cref="OnnxModelException">The file is not ONNX, or not a ViLT export (other inputs or outputs).</exception>
    public static OnnxViltClassifier Load(string modelFolder, string device = "cpu", int? threads = null,
        OnnxRuntimeOptions? options = null)
    {
        var config = ModelConfig.Load<ViltConfig>(modelFolder);
        var path = Path.Combine(modelFolder, OnnxExporter.ModelFileName);
        if (!File.Exists(path))
            throw new ModelNotFoundException(
                $"'{modelFolder}' has no {OnnxExporter.ModelFileName}: make one with 'vqa export onnx --model {modelFolder} --out DIR', or use --runtime torch.");
        var session = OnnxRuntimeSessions.Open(path, device, threads, options);
        try
        {
            CheckSignature(session.Session, path, config);
            return new OnnxViltClassifier(session, config);
        }
        catch
        {
            session.Session.Dispose();
            throw;
        }
    }

    public float[] Logits(ClassifierBatch batch)
    {
        long rows = batch.BatchSize, length = batch.TextLength;
        var images = batch.Images;
        long[] textShape = [rows, length], maskShape = [rows, images.Height, images.Width];
        // A processor without padding (do_pad false) returns no mask: every pixel is then valid, as HF assumes.
        var pixelMask = images.PixelMask ?? Enumerable.Repeat(1L, checked((int)(rows * images.Height * images.Width))).ToArray();
        using var inputIds = OrtValue.CreateTensorValueFromMemory(batch.InputIds, textShape);
        using var attentionMask = OrtValue.CreateTensorValueFromMemory(batch.AttentionMask, textShape);
        using var tokenTypeIds = OrtValue.CreateTensorValueFromMemory(batch.TokenTypeIds, textShape);
        using var pixelValues = OrtValue.CreateTensorValueFromMemory(images.PixelValues, [rows, 3, images.Height, images.Width]);
        using var mask = OrtValue.CreateTensorValueFromMemory(pixelMask, maskShape);
        using var runOptions = new RunOptions();
        using var outputs = session.Session.Run(runOptions, ViltOnnxGraph.InputNames,
            [inputIds, attentionMask, tokenTypeIds, pixelValues, mask], [ViltOnnxGraph.OutputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public void Dispose() => session.Session.Dispose();

    /// <summary>Refuses a model.onnx that does not take ViLT's inputs or give its logits, naming what it does take.</summary>
    private static void CheckSignature(InferenceSession session, string path, ViltConfig config)
    {
        var inputs = session.InputMetadata;
        var matches = inputs.Count == ExpectedInputs.Count
                      && ExpectedInputs.All(e => inputs.TryGetValue(e.Key, out var meta) && meta.ElementDataType == e.Value);
        if (!matches)
            throw new OnnxModelException(
                $"'{path}' takes inputs ({Describe(inputs)}), not a ViLT export's ({string.Join(", ", ExpectedInputs.Select(e => $"{e.Key} {Name(e.Value)}"))}); " +
                "export the model with 'vqa export onnx'.");
        if (!session.OutputMetadata.TryGetValue(ViltOnnxGraph.OutputName, out var logits) || logits.ElementDataType != TensorElementType.Float)
            throw new OnnxModelException($"'{path}' has no float output '{ViltOnnxGraph.OutputName}' (outputs: {Describe(session.OutputMetadata)}).");
        if (logits.Dimensions is [_, var labels] && labels > 0 && labels != config.NumLabels)
            throw new OnnxModelException(
                $"'{path}' gives {labels} logits but config.json names {config.NumLabels} labels: the file and the config come from different models.");
    }

    private static string Describe(IReadOnlyDictionary<string, NodeMetadata> values) =>
        string.Join(", ", values.Select(v => v.Value.IsTensor ? $"{v.Key} {Name(v.Value.ElementDataType)}" : v.Key));

    private static string Name(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float32",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        _ => type.ToString().ToLowerInvariant(),
    };
}
