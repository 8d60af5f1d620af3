using VqaPipeline.Ml.Models;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Onnx;

namespace VqaPipeline.Ml.Pipelines;

/// <summary>Which runtime runs a classification model.</summary>
public enum VqaRuntime
{
    /// <summary>ONNX Runtime when the folder has a model.onnx and float32 is asked for, else libtorch.</summary>
    Auto,

    /// <summary>libtorch through TorchSharp, from the checkpoint's weights.</summary>
    Torch,

    /// <summary>ONNX Runtime, from the folder's model.onnx (see <see cref="OnnxExporter"/>).</summary>
    Onnx,
}

/// <summary>The one place that decides which runtime answers for a model folder, and opens it.</summary>
public static class ClassifierRuntime
{
    /// <summary>
    /// The runtime <paramref name="options"/> ask for, <see cref="VqaRuntime.Auto"/> resolved; checks the device and
    /// dtype make sense for it before anything is loaded.
    /// </summary>
    /// <exception cref="DeviceUnavailableException">An unknown device or dtype, or a dtype the runtime cannot run.</exception>
    public static VqaRuntime Choose(string modelFolder, VqaEngineOptions options)
    {
        var dtype = TorchRuntime.ResolveDType(options.DType);
        var runtime = options.Runtime;
        if (runtime == VqaRuntime.Auto)
            runtime = dtype == TorchSharp.torch.ScalarType.Float32 && File.Exists(Path.Combine(modelFolder, OnnxExporter.ModelFileName))
                ? VqaRuntime.Onnx
                : VqaRuntime.Torch;

        if (runtime == VqaRuntime.Torch)
        {
            TorchRuntime.EnsureDTypeRunsAtSpeed(dtype, TorchRuntime.ResolveDevice(options.Device), options.AllowEmulatedBfloat16);
            return runtime;
        }
        if (dtype != TorchSharp.torch.ScalarType.Float32)
            throw new DeviceUnavailableException(
                $"dtype '{options.DType}' runs on the torch runtime only; an ONNX export is float32 or int8 ('vqa export onnx --quantize int8').");
        OnnxRuntimeSessions.ParseDevice(options.Device);
        return runtime;
    }

    /// <summary>Opens the model in <paramref name="modelFolder"/> on <paramref name="runtime"/> (from <see cref="Choose"/>).</summary>
    public static IVqaClassifier Load(VqaRuntime runtime, string modelFolder, VqaEngineOptions options)
    {
        if (runtime == VqaRuntime.Onnx)
            return OnnxViltClassifier.Load(modelFolder, options.Device, options.Threads, options.Onnx);
        var device = TorchRuntime.ResolveDevice(options.Device);
        var dtype = TorchRuntime.ResolveDType(options.DType);
        if (options.Threads is int threads) TorchSharp.torch.set_num_threads(threads);
        return TorchViltClassifier.Load(modelFolder, device, dtype, options.AllowEmulatedBfloat16);
    }

    /// <summary><see cref="Choose"/> then <see cref="Load(VqaRuntime, string, VqaEngineOptions)"/>.</summary>
    public static IVqaClassifier Load(string modelFolder, VqaEngineOptions options) =>
        Load(Choose(modelFolder, options), modelFolder, options);
}
