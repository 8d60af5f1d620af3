using System.Buffers;
using VqaPipeline.Ml.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models;

/// <summary>
/// Writes a model folder of real dimensions with random weights (for speed and memory measurements, never for
/// answers) without holding the model in memory: the module is built on the meta device for its keys and shapes,
/// and each tensor's values are drawn only when the file writer reaches it.
/// </summary>
public static class RandomCheckpoint
{
    /// <summary>
    /// Writes <c>config.json</c> and <c>model.safetensors</c> into <paramref name="folder"/>: every state-dict key of the
    /// module <paramref name="construct"/> builds, except <paramref name="tiedKeys"/> (which transformers leaves out of
    /// safetensors), drawn from N(0, <paramref name="std"/>) in <paramref name="dtype"/>. Returns the bytes of weights.
    /// </summary>
    public static long Write(string folder, PretrainedConfig config, Func<nn.Module> construct, ScalarType dtype,
        double std = 0.02, long seed = 0, IReadOnlyCollection<string>? tiedKeys = null)
    {
        Directory.CreateDirectory(folder);
        config.Save(folder);
        var shapes = ShapesOf(construct).Where(p => tiedKeys?.Contains(p.Key) != true).ToArray();
        var fileDType = dtype switch
        {
            ScalarType.BFloat16 => TensorDType.BFloat16,
            ScalarType.Float32 => TensorDType.Float32,
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "random checkpoints are float32 or bfloat16."),
        };
        var largest = shapes.Max(p => CheckpointTensor.ByteCountOf(fileDType, p.Value) ?? 0);
        var buffer = new byte[largest];
        manual_seed(seed);
        var tensors = shapes.Select(p => new CheckpointTensor(p.Key, fileDType, p.Value,
            new RandomValues(buffer, p.Value, dtype, std).Memory)).ToList();
        Safetensors.Write(Path.Combine(folder, "model.safetensors"), tensors);
        return tensors.Sum(t => (long)t.Data.Length);
    }

    private static Dictionary<string, long[]> ShapesOf(Func<nn.Module> construct)
    {
        using var meta = ModuleAllocation.Use(META, null);
        using var module = construct();
        return module.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);
    }

    /// <summary>A tensor's bytes, drawn into a buffer shared by all tensors when the writer asks for them.</summary>
    private sealed class RandomValues(byte[] buffer, long[] shape, ScalarType dtype, double std) : MemoryManager<byte>
    {
        private readonly int length = (int)(shape.Aggregate(1L, (a, b) => a * b) * (dtype == ScalarType.BFloat16 ? 2 : 4));

        public override Memory<byte> Memory => CreateMemory(length);

        public override Span<byte> GetSpan()
        {
            using var scale = std.ToScalar();
            using var values = randn(shape, dtype: dtype);
            values.mul_(scale).bytes.CopyTo(buffer);
            return buffer.AsSpan(0, length);
        }

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
