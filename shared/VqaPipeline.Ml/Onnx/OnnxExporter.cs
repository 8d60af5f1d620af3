using System.Text.Json;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Ml.Onnx;

/// <summary>How linear layers are stored in the exported graph.</summary>
public enum OnnxQuantization
{
    /// <summary>float32 weights: the graph reproduces the checkpoint's logits.</summary>
    None,

    /// <summary>int8 weights per output channel, activations quantized at run time (DynamicQuantizeMatMul).</summary>
    Int8,
}

/// <summary>Settings of <see cref="OnnxExporter.Export"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The standard ONNX operator set the graph targets (<see cref="OnnxExporter.MinOpset"/> to <see cref="OnnxExporter.MaxOpset"/>).</summary>
    public int Opset { get; init; } = OnnxExporter.DefaultOpset;

    public OnnxQuantization Quantization { get; init; } = OnnxQuantization.None;

    /// <summary>Open the written file in ONNX Runtime (CPU) before keeping it, so that a file it rejects is never left behind.</summary>
    public bool VerifyWithOnnxRuntime { get; init; } = true;
}

/// <summary>What an export wrote.</summary>
/// <param name="ModelPath">The <c>model.onnx</c> written.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="CopiedFiles">The config, tokenizer and preprocessor files copied beside it (names).</param>
public sealed record OnnxExportResult(string ModelPath, long Bytes, IReadOnlyList<string> CopiedFiles);

/// <summary>
/// Writes a model folder that ONNX Runtime answers from alone: <c>model.onnx</c> built from the loaded weights (no
/// Python involved), with the folder's config, tokenizer and preprocessor files. Exporting into the model's own folder
/// puts <c>model.onnx</c> next to the weights.
/// </summary>
public static class OnnxExporter
{
    public const string ModelFileName = "model.onnx";
    public const int DefaultOpset = 17;

    /// <summary>LayerNormalization is a standard operator from opset 17 on.</summary>
    public const int MinOpset = 17;

    /// <summary>The newest opset this exporter's operators were checked against.</summary>
    public const int MaxOpset = 21;

    /// <summary>Model families that can be exported (config.json <c>model_type</c>).</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["vilt"];

    /// <summary>Exports the model in <paramref name="modelFolder"/> into <paramref name="outputFolder"/> (created if needed).</summary>
    /// <exception cref="VqaPipelineException">No such model, no weights, a family other than ViLT, or a bad option.</exception>
    public static OnnxExportResult Export(string modelFolder, string outputFolder, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        if (options.Opset is < MinOpset or > MaxOpset)
            throw new OnnxModelException($"opset {options.Opset} is not supported: choose {MinOpset} to {MaxOpset}.");
        if (!Directory.Exists(modelFolder))
            throw new ModelNotFoundException($"model folder '{modelFolder}' does not exist.");
        var modelType = ReadModelType(modelFolder);
        if (!SupportedModelTypes.Contains(modelType))
            throw new UnsupportedModelException(
                $"ONNX export supports ViLT (model_type 'vilt') only; '{modelFolder}' is a '{modelType}' model.");

        var quantize = options.Quantization == OnnxQuantization.Int8;
        var (graph, domains) = ViltOnnxGraph.FromFolder(modelFolder, quantize);
        var model = new OnnxModel(IrVersionFor(options.Opset),
            domains.Select(domain => new OnnxOpsetImport(domain, domain.Length == 0 ? options.Opset : 1))
                .OrderBy(o => o.Domain, StringComparer.Ordinal).ToArray(),
            "VqaPipeline", typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            graph,
            new Dictionary<string, string>
            {
                ["model_type"] = modelType,
                ["quantization"] = quantize ? "int8" : "none",
                ["source"] = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelFolder))),
            });
        OnnxModelChecker.Check(model, ModelFileName);

        Directory.CreateDirectory(outputFolder);
        var path = Path.Combine(outputFolder, ModelFileName);
        // Written beside and renamed, so a failed export never leaves a truncated model.onnx that a later load would pick.
        var partial = path + ".partial";
        long bytes;
        try
        {
            bytes = OnnxProtobuf.Write(model, partial);
            if (options.VerifyWithOnnxRuntime)
                OnnxRuntimeSessions.Open(partial, "cpu", threads: null).Session.Dispose();
            File.Move(partial, path, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
        return new OnnxExportResult(path, bytes, CopySideFiles(modelFolder, outputFolder));
    }

    /// <summary>The IR version that goes with an opset (onnx/docs/Versioning.md).</summary>
    public static long IrVersionFor(int opset) => opset switch
    {
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };

    private static string ReadModelType(string folder)
    {
        var path = Path.Combine(folder, ModelConfig.FileName);
        if (!File.Exists(path)) throw new ModelNotFoundException($"'{folder}' has no {ModelConfig.FileName}.");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty("model_type", out var type) && type.ValueKind == JsonValueKind.String
                ? type.GetString()!
                : throw new UnsupportedModelException($"'{path}' has no model_type.");
        }
        catch (JsonException error)
        {
            throw new CheckpointFormatException($"'{path}' is not a valid config: {error.Message}", error);
        }
    }

    private static List<string> CopySideFiles(string modelFolder, string outputFolder)
    {
        var copied = new List<string>();
        var sameFolder = Path.GetFullPath(modelFolder) == Path.GetFullPath(outputFolder);
        foreach (var name in ModelResolver.OptionalFiles.Prepend(ModelConfig.FileName))
        {
            var source = Path.Combine(modelFolder, name);
            if (!File.Exists(source)) continue;
            // Copied by content, not with File.Copy: a read-only source (a mounted fixture, a Hub snapshot) would make a
            // read-only copy that the next export into the same folder could not overwrite.
            if (!sameFolder) File.WriteAllBytes(Path.Combine(outputFolder, name), File.ReadAllBytes(source));
            copied.Add(name);
        }
        return copied;
    }
}
