using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Onnx;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Models;

namespace VqaPipeline.Ml.Tests.Onnx;

/// <summary>
/// The vilt-tiny fixture exported once per test class: float32 and int8 folders holding model.onnx with the config,
/// tokenizer and preprocessor files, and no weights file.
/// </summary>
public sealed class ExportedViltTiny : IDisposable
{
    private readonly TemporaryFolder root = new();

    public ExportedViltTiny()
    {
        Float32 = Path.Combine(root.Path, "float32");
        Int8 = Path.Combine(root.Path, "int8");
        OnnxExporter.Export(ViltFixture.ModelFolder, Float32);
        OnnxExporter.Export(ViltFixture.ModelFolder, Int8, new OnnxExportOptions { Quantization = OnnxQuantization.Int8 });
    }

    public string Float32 { get; }

    public string Int8 { get; }

    public static ViltConfig Config => ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);

    public static string ModelFile(string folder) => Path.Combine(folder, OnnxExporter.ModelFileName);

    public void Dispose() => root.Dispose();
}

/// <summary>Fixture tensors as plain arrays, and ONNX Runtime run with nothing of ours in between.</summary>
internal static class OnnxTestData
{
    public static long[] Int64s(CheckpointTensor tensor) => tensor.DType switch
    {
        TensorDType.Int64 => MemoryMarshal.Cast<byte, long>(tensor.Data.Span).ToArray(),
        TensorDType.UInt8 or TensorDType.Bool => tensor.Data.ToArray().Select(b => (long)b).ToArray(),
        var other => throw new InvalidOperationException($"{tensor.Name} is {other}, not an integer tensor"),
    };

    public static float[] Floats(CheckpointTensor tensor) => tensor.DType == TensorDType.Float32
        ? MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray()
        : throw new InvalidOperationException($"{tensor.Name} is {tensor.DType}, not float32");

    /// <summary>A fixture case's model inputs under HF's names: its recorded token ids, the processor's pixels and mask.</summary>
    public static Dictionary<string, (Array Data, long[] Shape)> FixtureInputs(ViltFixture.FixtureCase testCase, string modelFolder)
    {
        using var expected = Safetensors.Read(Path.Combine(ViltFixture.ExpectedFolder, testCase.File));
        var inputIds = expected["input_ids"];
        var loader = new ImageLoader();
        var images = ViltImageProcessor.FromPretrained(modelFolder)
            .Preprocess(testCase.Images.Select(image => loader.LoadFile(Fixtures.PathOf(image))).ToArray());
        return new Dictionary<string, (Array, long[])>
        {
            ["input_ids"] = (Int64s(inputIds), inputIds.Shape),
            ["attention_mask"] = (Int64s(expected["attention_mask"]), inputIds.Shape),
            ["token_type_ids"] = (Int64s(expected["token_type_ids"]), inputIds.Shape),
            ["pixel_values"] = (images.PixelValues, [images.BatchSize, 3, images.Height, images.Width]),
            ["pixel_mask"] = (images.PixelMask!, [images.BatchSize, images.Height, images.Width]),
        };
    }

    /// <summary>Runs a model file on ONNX Runtime's default session options and returns <c>logits</c>.</summary>
    public static float[] RunDefault(string modelPath, IReadOnlyDictionary<string, (Array Data, long[] Shape)> inputs)
    {
        using var session = new InferenceSession(modelPath);
        var values = inputs.Select(input => input.Value.Data switch
        {
            long[] longs => OrtValue.CreateTensorValueFromMemory(longs, input.Value.Shape),
            float[] floats => OrtValue.CreateTensorValueFromMemory(floats, input.Value.Shape),
            _ => throw new ArgumentException($"input {input.Key} is neither int64 nor float32"),
        }).ToArray();
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs.Keys.ToArray(), values, ["logits"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }

    /// <summary>Largest absolute difference between two equally long arrays.</summary>
    public static double MaxDifference(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        return expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max();
    }
}
