using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models;

/// <summary>
/// Where the generative models' parameters are created. A big model is built straight in its compute dtype (a float32
/// draft of BLIP-2 2.7B would need twice its memory) or on the meta device (shapes only); the choice holds for the
/// constructing thread alone, unlike libtorch's process-wide default dtype and device, so models built in parallel on
/// other threads are unaffected.
/// </summary>
public static class ModuleAllocation
{
    [ThreadStatic]
    private static (Device? Device, ScalarType? DType) current;

    /// <summary>Until disposed, modules built on this thread get parameters on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    public static IDisposable Use(Device? device, ScalarType? dtype)
    {
        var previous = current;
        current = (device, dtype);
        return new Restore(previous);
    }

    public static Linear NewLinear(long inputs, long outputs, bool hasBias = true) =>
        nn.Linear(inputs, outputs, hasBias, current.Device, current.DType);

    public static LayerNorm NewLayerNorm(long width, double eps = 1e-5, bool elementwiseAffine = true) =>
        nn.LayerNorm(width, eps, elementwiseAffine, device: current.Device, dtype: current.DType);

    public static Embedding NewEmbedding(long count, long width, long? paddingIndex = null) =>
        nn.Embedding(count, width, paddingIndex, device: current.Device, dtype: current.DType);

    public static Conv2d NewConv2d(long inputs, long outputs, long kernelSize, long stride) =>
        nn.Conv2d(inputs, outputs, kernelSize, stride, device: current.Device, dtype: current.DType);

    public static Tensor NewZeros(params long[] shape) => zeros(shape, dtype: current.DType, device: current.Device);

    private sealed class Restore((Device?, ScalarType?) previous) : IDisposable
    {
        public void Dispose() => current = previous;
    }
}
