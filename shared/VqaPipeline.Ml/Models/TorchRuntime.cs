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

    /// <summary>
    /// Null when <paramref name="dtype"/> computes at speed on <paramref name="device"/>; otherwise one line saying why
    /// not (bfloat16 on a CPU that libtorch can only emulate it on). Services that answer queued questions use this to
    /// fall back to float32 with a warning instead of failing a job.
    /// </summary>
    public static string? SlowDTypeReason(ScalarType dtype, Device device, CpuCapabilities? cpu = null)
    {
        if (dtype != ScalarType.BFloat16 || device.type != DeviceType.CPU) return null;
        cpu ??= CpuCapabilities.Current;
        return cpu.RunsBfloat16AtSpeed
            ? null
            : $"bfloat16 on this CPU is emulated by libtorch, orders of magnitude slower than float32: {cpu.Describe()} " +
              "has neither bfloat16 instructions (AVX512_BF16, AMX-BF16, Arm BF16) nor the AVX-512 that oneDNN's bfloat16 kernels need";
    }

    /// <summary>
    /// Refuses a dtype that would crawl (see <see cref="SlowDTypeReason"/>) unless the caller opted in to emulation.
    /// </summary>
    /// <exception cref="DeviceUnavailableException">bfloat16 on an emulating CPU without <paramref name="allowEmulatedBfloat16"/>.</exception>
    public static void EnsureDTypeRunsAtSpeed(ScalarType dtype, Device device, bool allowEmulatedBfloat16, CpuCapabilities? cpu = null)
    {
        if (allowEmulatedBfloat16 || SlowDTypeReason(dtype, device, cpu) is not { } reason) return;
        throw new DeviceUnavailableException(
            $"{reason}; use float32, or opt in with AllowEmulatedBfloat16 (--allow-emulated-bfloat16 on the command line).");
    }
}
