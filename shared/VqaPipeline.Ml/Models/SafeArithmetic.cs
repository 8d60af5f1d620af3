using TorchSharp;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models;

/// <summary>
/// Tensor sums without TorchSharp's <c>Tensor + Tensor</c> and <c>add_(Scalar)</c>, which convert the implicit <c>alpha = 1</c> to a new
/// <see cref="Scalar"/> and leave it unreferenced during the native call: a GC on another thread may finalize it
/// there, and libtorch then reads freed memory (seen as "Expected false to be true" in <c>Scalar::toFloat</c> after a
/// few thousand training steps). The scalar here lives as long as the process.
/// </summary>
internal static class SafeArithmetic
{
    private static readonly Scalar One = 1.ToScalar();

    /// <summary><paramref name="left"/> + <paramref name="right"/>, broadcasting like torch.</summary>
    public static Tensor Plus(this Tensor left, Tensor right) => left.add(right, One);

    /// <summary>Adds <paramref name="value"/> to every element of <paramref name="tensor"/> in place (torch's <c>add_</c>).</summary>
    public static Tensor PlusInPlace(this Tensor tensor, Scalar value) => tensor.add_(value, One);
}
