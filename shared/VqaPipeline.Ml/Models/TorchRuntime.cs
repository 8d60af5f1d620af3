using TorchSharp;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models;

/// <summary>The requested device or dtype cannot be used on this machine or with this build.</summary>
public sealed class DeviceUnavailableException(string message) : VqaPipelineException(message);

/// <summary>Turns the user's <c>--device</c> and <c>--dtype</c> words into libtorch devices and dtypes.</summary>
public static class TorchRuntime
{
    public static Device ResolveDevice(string name)
    {
        var normalized = name.Trim().ToLowerInvariant();
        if (normalized == "cpu") return CPU;
        if (normalized == "cuda" || normalized.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new DeviceUnavailableException(
                    $"device '{name}' was requested but libtorch reports no usable CUDA device " +
                    "(this build ships the CPU libtorch; build with a TorchSharp CUDA package on a machine with an NVIDIA GPU, or use --device cpu).");
            var index = normalized == "cuda" ? 0 : int.Parse(normalized["cuda:".Length..]);
            if (index >= cuda.device_count())
                throw new DeviceUnavailableException($"device '{name}' does not exist: {cuda.device_count()} CUDA device(s) found.");
            return new Device(DeviceType.CUDA, index);
        }
        throw new DeviceUnavailableException($"unknown device '{name}': use cpu, cuda or cuda:N.");
    }

    public static ScalarType ResolveDType(string name) => name.Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "float" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        _ => throw new DeviceUnavailableException($"unknown dtype '{name}': use float32 or bfloat16."),
    };
}
