namespace VqaPipeline.Ml.Checkpoints;

/// <summary>Element types a checkpoint tensor can hold (the safetensors set that torch state dicts use).</summary>
public enum TensorDType
{
    Float32,
    Float16,
    BFloat16,
    Float64,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}

/// <summary>Sizes and file-format names of <see cref="TensorDType"/>.</summary>
public static class TensorDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this TensorDType dtype) => dtype switch
    {
        TensorDType.Float64 or TensorDType.Int64 => 8,
        TensorDType.Float32 or TensorDType.Int32 => 4,
        TensorDType.Float16 or TensorDType.BFloat16 or TensorDType.Int16 => 2,
        TensorDType.Int8 or TensorDType.UInt8 or TensorDType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The dtype's name in a safetensors header (F32, BF16, I64, BOOL…).</summary>
    public static string SafetensorsName(this TensorDType dtype) => dtype switch
    {
        TensorDType.Float32 => "F32",
        TensorDType.Float16 => "F16",
        TensorDType.BFloat16 => "BF16",
        TensorDType.Float64 => "F64",
        TensorDType.Int64 => "I64",
        TensorDType.Int32 => "I32",
        TensorDType.Int16 => "I16",
        TensorDType.Int8 => "I8",
        TensorDType.UInt8 => "U8",
        TensorDType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>Parses a safetensors dtype name; false for names outside <see cref="TensorDType"/>.</summary>
    public static bool TryParseSafetensorsName(string name, out TensorDType dtype)
    {
        foreach (var candidate in Enum.GetValues<TensorDType>())
        {
            if (candidate.SafetensorsName() == name)
            {
                dtype = candidate;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    internal static TorchSharp.torch.ScalarType ToScalarType(this TensorDType dtype) => dtype switch
    {
        TensorDType.Float32 => TorchSharp.torch.ScalarType.Float32,
        TensorDType.Float16 => TorchSharp.torch.ScalarType.Float16,
        TensorDType.BFloat16 => TorchSharp.torch.ScalarType.BFloat16,
        TensorDType.Float64 => TorchSharp.torch.ScalarType.Float64,
        TensorDType.Int64 => TorchSharp.torch.ScalarType.Int64,
        TensorDType.Int32 => TorchSharp.torch.ScalarType.Int32,
        TensorDType.Int16 => TorchSharp.torch.ScalarType.Int16,
        TensorDType.Int8 => TorchSharp.torch.ScalarType.Int8,
        TensorDType.UInt8 => TorchSharp.torch.ScalarType.Byte,
        TensorDType.Bool => TorchSharp.torch.ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };
}
