using System.Text.Json;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Vilt;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>
/// Writes a ViLT question-answering model folder the way transformers' <c>save_pretrained</c> does: config.json,
/// model.safetensors and the tokenizer and image-processor files, so <c>from_pretrained</c> (ours or Python's) loads it.
/// </summary>
public static class ViltCheckpointWriter
{
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The tokenizer files transformers reads for a BERT tokenizer, copied when present.</summary>
    public static IReadOnlyList<string> TokenizerFileNames { get; } =
        ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"];

    public const string PreprocessorFileName = "preprocessor_config.json";

    /// <summary>
    /// Saves <paramref name="module"/>'s state dict and <paramref name="config"/> (marked as a
    /// <c>ViltForQuestionAnswering</c> in the weights' dtype) to <paramref name="folder"/>, copying the tokenizer and
    /// preprocessor files from the given folders. The folder is written under a temporary name and renamed into place,
    /// so a reader never sees half a checkpoint; an existing folder is replaced.
    /// </summary>
    public static void SavePretrained(nn.Module module, ViltConfig config, string folder,
        string? tokenizerSourceFolder = null, string? preprocessorSourceFolder = null)
    {
        var target = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(target) ?? throw new CheckpointWriteException($"'{folder}' has no parent folder to write into.");
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.saving-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(staging);
            var tensors = StateTensors(module);
            SavedConfig(config, tensors).Save(staging);
            Safetensors.Write(Path.Combine(staging, WeightsFileName), tensors);
            if (tokenizerSourceFolder is not null)
                CopyFiles(tokenizerSourceFolder, staging, TokenizerFileNames, required: "vocab.txt");
            if (preprocessorSourceFolder is not null)
                CopyFiles(preprocessorSourceFolder, staging, [PreprocessorFileName], required: PreprocessorFileName);
            ReplaceFolder(staging, target);
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    private static List<CheckpointTensor> StateTensors(nn.Module module) =>
        module.state_dict().Select(pair => ToCheckpointTensor(pair.Key, pair.Value)).ToList();

    private static CheckpointTensor ToCheckpointTensor(string name, Tensor value)
    {
        using var contiguous = value.detach().cpu().contiguous();
        return new CheckpointTensor(name, ToTensorDType(contiguous.dtype, name), contiguous.shape, contiguous.bytes.ToArray());
    }

    private static TensorDType ToTensorDType(ScalarType dtype, string name) => dtype switch
    {
        ScalarType.Float32 => TensorDType.Float32,
        ScalarType.Float16 => TensorDType.Float16,
        ScalarType.BFloat16 => TensorDType.BFloat16,
        ScalarType.Float64 => TensorDType.Float64,
        ScalarType.Int64 => TensorDType.Int64,
        ScalarType.Int32 => TensorDType.Int32,
        ScalarType.Int16 => TensorDType.Int16,
        ScalarType.Int8 => TensorDType.Int8,
        ScalarType.Byte => TensorDType.UInt8,
        ScalarType.Bool => TensorDType.Bool,
        _ => throw new CheckpointWriteException($"'{name}' has dtype {dtype}, which safetensors cannot store."),
    };

    /// <summary>A copy of <paramref name="config"/> as save_pretrained writes it for this model: architecture and dtype set.</summary>
    private static ViltConfig SavedConfig(ViltConfig config, IReadOnlyList<CheckpointTensor> tensors)
    {
        var copy = JsonSerializer.Deserialize<ViltConfig>(config.ToJsonString(), PretrainedConfig.SerializerOptions)!;
        copy.Architectures = [nameof(ViltForQuestionAnswering)];
        var floating = tensors.Select(t => t.DType).FirstOrDefault(d => d is TensorDType.Float32 or TensorDType.Float16 or TensorDType.BFloat16 or TensorDType.Float64);
        copy.TorchDtype = floating switch
        {
            TensorDType.Float16 => "float16",
            TensorDType.BFloat16 => "bfloat16",
            TensorDType.Float64 => "float64",
            _ => "float32",
        };
        return copy;
    }

    private static void CopyFiles(string source, string destination, IEnumerable<string> names, string required)
    {
        if (!File.Exists(Path.Combine(source, required)))
            throw new CheckpointWriteException($"'{source}' has no {required} to copy into the saved model; point at the folder the model was loaded from.");
        foreach (var name in names.Where(name => File.Exists(Path.Combine(source, name))))
            File.Copy(Path.Combine(source, name), Path.Combine(destination, name), overwrite: true);
    }

    private static void ReplaceFolder(string staging, string target)
    {
        if (!Directory.Exists(target))
        {
            Directory.Move(staging, target);
            return;
        }
        var retired = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.replaced-{Guid.NewGuid():N}");
        Directory.Move(target, retired);
        Directory.Move(staging, target);
        Directory.Delete(retired, recursive: true);
    }
}

/// <summary>A model folder could not be written (unstorable dtype, missing tokenizer or preprocessor files).</summary>
public sealed class CheckpointWriteException(string message) : VqaPipelineException(message);
