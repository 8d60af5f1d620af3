using Microsoft.ML.OnnxRuntime;
using VqaPipeline.Ml.Models;

namespace VqaPipeline.Ml.Onnx;

/// <summary>How much ONNX Runtime rewrites the graph before running it (<c>GraphOptimizationLevel</c>).</summary>
public enum OnnxGraphOptimization
{
    /// <summary>Run the graph as written.</summary>
    Disabled,

    /// <summary>Constant folding and redundant-node removal.</summary>
    Basic,

    /// <summary>Basic plus operator fusions (attention, layer norm, GELU).</summary>
    Extended,

    /// <summary>Extended plus memory-layout optimizations: the default.</summary>
    All,
}

/// <summary>ONNX Runtime settings of the engine (threads are <c>VqaEngineOptions.Threads</c>, shared with libtorch).</summary>
public sealed record OnnxRuntimeOptions
{
    public OnnxGraphOptimization GraphOptimization { get; init; } = OnnxGraphOptimization.All;

    /// <summary>
    /// Where ONNX Runtime saves the graph it optimized, to inspect which kernels run; loading that file later with
    /// <see cref="OnnxGraphOptimization.Disabled"/> skips the optimization at start-up. Null: not saved.
    /// </summary>
    public string? OptimizedModelPath { get; init; }
}

/// <summary>An ONNX Runtime session and what it runs on.</summary>
/// <param name="Provider">The execution provider that runs the graph: <c>CPU</c> or <c>CUDA:N</c>.</param>
/// <param name="Warning">Why the device asked for is not the one used (CUDA requested, CPU used); null otherwise.</param>
public sealed record OnnxSession(InferenceSession Session, string Provider, string? Warning);

/// <summary>Opens ONNX Runtime sessions on the device the user named, falling back from CUDA to CPU with a warning.</summary>
public static class OnnxRuntimeSessions
{
    /// <summary>Opens <paramref name="modelPath"/> on <paramref name="device"/> (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>).</summary>
    /// <exception cref="OnnxModelException">ONNX Runtime cannot load the file (truncated, not ONNX, unknown operators).</exception>
    /// <exception cref="DeviceUnavailableException">The device name is not one of cpu, cuda, cuda:N.</exception>
    public static OnnxSession Open(string modelPath, string device, int? threads, OnnxRuntimeOptions? options = null)
    {
        options ??= new OnnxRuntimeOptions();
        _ = QuietEnvironment.Value;
        if (threads is < 1) throw new ArgumentOutOfRangeException(nameof(threads), "threads must be at least 1.");
        var cudaDevice = ParseDevice(device);
        if (cudaDevice is not int index)
            return new OnnxSession(Create(modelPath, threads, options, cudaDevice: null), "CPU", null);

        try
        {
            return new OnnxSession(Create(modelPath, threads, options, index), $"CUDA:{index}", null);
        }
        catch (Exception error) when (error is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            // A file ONNX Runtime cannot read fails on CPU too, and is reported as such by the second attempt.
            var session = Create(modelPath, threads, options, cudaDevice: null);
            var reason = error is EntryPointNotFoundException
                ? "this build carries ONNX Runtime's CPU package"
                : OneLine(error.Message);
            return new OnnxSession(session, "CPU",
                $"device '{device}' was requested but ONNX Runtime cannot use CUDA here ({reason}); running on CPU " +
                "(CUDA needs the GPU build, -p:OnnxRuntimeGpu=true, and an NVIDIA GPU with the CUDA 13 and cuDNN 9 libraries).");
        }
    }

    /// <summary>
    /// ONNX Runtime's process-wide logger writes warnings and errors to the console, where a failed CUDA provider
    /// load would add a coloured line of its own before ours: failures reach the caller as exceptions or warnings instead.
    /// </summary>
    private static readonly Lazy<bool> QuietEnvironment = new(() =>
    {
        OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        return true;
    });

    /// <summary>Null for the CPU, else the CUDA device index.</summary>
    internal static int? ParseDevice(string device)
    {
        var normalized = device.Trim().ToLowerInvariant();
        if (normalized == "cpu") return null;
        if (normalized == "cuda") return 0;
        if (normalized.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(normalized["cuda:".Length..], out var index) && index >= 0)
            return index;
        throw new DeviceUnavailableException($"unknown device '{device}': use cpu, cuda or cuda:N.");
    }

    private static InferenceSession Create(string modelPath, int? threads, OnnxRuntimeOptions options, int? cudaDevice)
    {
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = options.GraphOptimization switch
            {
                OnnxGraphOptimization.Disabled => GraphOptimizationLevel.ORT_DISABLE_ALL,
                OnnxGraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                OnnxGraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
            // ONNX Runtime's own log goes to stdout, which belongs to the command's output (JSON answers): errors only.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        if (threads is int count) sessionOptions.IntraOpNumThreads = count;
        if (options.OptimizedModelPath is { } optimized) sessionOptions.OptimizedModelFilePath = optimized;
        if (cudaDevice is int index) sessionOptions.AppendExecutionProvider_CUDA(index);
        try
        {
            return new InferenceSession(modelPath, sessionOptions);
        }
        catch (OnnxRuntimeException error) when (cudaDevice is null)
        {
            throw new OnnxModelException($"ONNX Runtime cannot load '{modelPath}': {OneLine(error.Message)}", error);
        }
    }

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(line => line.Trim())).TrimEnd('.');
}
