using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests;

/// <summary>The build makes libtorch load here (see build/LibTorchSharpLoaderFix.targets).</summary>
public class TorchLoadsTests
{
    [Fact]
    public void A_matmul_runs_in_libtorch()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var product = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, product.data<float>().ToArray());
    }
}
