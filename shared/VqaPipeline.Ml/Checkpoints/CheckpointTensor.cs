using TorchSharp;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// One named tensor of a checkpoint as raw, contiguous, little-endian bytes in row-major order. The bytes are a view
/// of the file where the format allows (memory-mapped safetensors, an uncompressed storage shared by several tensors),
/// so they stay valid only while the <see cref="StateDict"/> that produced them is not disposed.
/// </summary>
public sealed class CheckpointTensor
{
    /// <summary>Wraps <paramref name="data"/>, which must hold exactly shape × element-size bytes.</summary>
    public CheckpointTensor(string name, TensorDType dtype, long[] shape, ReadOnlyMemory<byte> data)
    {
        var byteCount = ByteCountOf(dtype, shape)
                        ?? throw new ArgumentException($"Tensor '{name}' has an invalid shape [{string.Join(", ", shape)}]", nameof(shape));
        if (byteCount != data.Length)
            throw new ArgumentException($"Tensor '{name}' needs {byteCount} bytes but was given {data.Length}", nameof(data));
        Name = name;
        DType = dtype;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }

    public TensorDType DType { get; }

    /// <summary>Sizes of each dimension; empty for a scalar. Do not modify.</summary>
    public long[] Shape { get; }

    /// <summary>The contiguous element bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    public long ElementCount => Shape.Aggregate(1L, (product, size) => product * size);

    /// <summary>A new CPU tensor of this dtype and shape holding a copy of the bytes.</summary>
    public torch.Tensor ToTorch()
    {
        var tensor = torch.empty(Shape, DType.ToScalarType());
        if (Data.Length > 0)
            Data.Span.CopyTo(tensor.bytes);
        return tensor;
    }

    /// <summary>shape × element size, or null when a size is negative or the product overflows.</summary>
    internal static long? ByteCountOf(TensorDType dtype, IReadOnlyList<long> shape)
    {
        try
        {
            long count = dtype.ElementSize();
            foreach (var size in shape)
            {
                if (size < 0)
                    return null;
                count = checked(count * size);
            }
            return count;
        }
        catch (OverflowException)
        {
            return null;
        }
    }
}
