using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace VqaPipeline.Ml.Imaging;

/// <summary>
/// Pillow 9.4's <c>Image.resize(size, Image.BICUBIC)</c> on 8-bit RGB, bit for bit (libImaging/Resample.c): a separable
/// convolution whose support widens with the downscale factor, weights rounded to 22-bit fixed point, a horizontal pass
/// over only the rows the vertical pass reads, then the vertical pass. An axis whose size does not change is skipped.
/// </summary>
public static class PillowResampler
{
    // 8 bits of result plus 2 bits of headroom for the filter's negative lobes and overshoot, in a 32-bit int.
    private const int PrecisionBits = 32 - 8 - 2;
    private const int Rounding = 1 << (PrecisionBits - 1);
    private const double BicubicSupport = 2.0;

    public static RgbImage ResizeBicubic(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (width == image.Width && height == image.Height)
            return new RgbImage(width, height, (byte[])image.Pixels.Clone());

        var vertical = Kernel.Bicubic(image.Height, height);
        if (width == image.Width)
            return new RgbImage(width, height, ResampleVertical(image.Pixels, width, vertical, firstRow: 0));

        // Only the source rows the vertical pass will read are resampled horizontally.
        var firstRow = vertical.Start[0];
        var endRow = vertical.Start[height - 1] + vertical.Count[height - 1];
        var horizontal = Kernel.Bicubic(image.Width, width);
        var rowsLength = checked(width * (endRow - firstRow) * 3);
        if (height == image.Height)
        {
            var rows = new byte[rowsLength];
            ResampleHorizontal(image.Pixels, image.Width, firstRow, horizontal, rows);
            return new RgbImage(width, height, rows);
        }

        var intermediate = ArrayPool<byte>.Shared.Rent(rowsLength);
        try
        {
            ResampleHorizontal(image.Pixels, image.Width, firstRow, horizontal, intermediate.AsSpan(0, rowsLength));
            return new RgbImage(width, height, ResampleVertical(intermediate, width, vertical, firstRow));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(intermediate);
        }
    }

    private static unsafe void ResampleHorizontal(byte[] source, int sourceWidth, int firstRow, Kernel kernel, Span<byte> result)
    {
        var outWidth = kernel.Start.Length;
        var rowCount = result.Length / (outWidth * 3);
        fixed (byte* sourcePixels = source, resultPixels = result)
        fixed (int* allWeights = kernel.Weights)
        {
            for (var row = 0; row < rowCount; row++)
            {
                var input = sourcePixels + (long)(firstRow + row) * sourceWidth * 3;
                var output = resultPixels + (long)row * outWidth * 3;
                // A pixel is read as 4 bytes (RGB plus the next red), which must not run past the array's end.
                var isLastRowOfArray = firstRow + row + 1 == source.Length / (sourceWidth * 3);
                for (var x = 0; x < outWidth; x++, output += 3)
                {
                    var weights = new ReadOnlySpan<int>(allWeights + x * kernel.Stride, kernel.Count[x]);
                    var pixels = input + kernel.Start[x] * 3;
                    if (Vector128.IsHardwareAccelerated && !isLastRowOfArray)
                        HorizontalPixel(pixels, weights, output);
                    else
                        HorizontalPixelScalar(pixels, weights, output);
                }
            }
        }
    }

    private static unsafe void HorizontalPixel(byte* pixels, ReadOnlySpan<int> weights, byte* output)
    {
        var sum = Vector128.Create(Rounding);
        for (var tap = 0; tap < weights.Length; tap++, pixels += 3)
        {
            var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(pixels)).AsByte();
            var values = Vector128.WidenLower(Vector128.WidenLower(bytes)).AsInt32();
            sum += values * weights[tap];
        }
        var clipped = Vector128.Clamp(Vector128.ShiftRightArithmetic(sum, PrecisionBits),
            Vector128<int>.Zero, Vector128.Create(255));
        output[0] = (byte)clipped.GetElement(0);
        output[1] = (byte)clipped.GetElement(1);
        output[2] = (byte)clipped.GetElement(2);
    }

    private static unsafe void HorizontalPixelScalar(byte* pixels, ReadOnlySpan<int> weights, byte* output)
    {
        int red = Rounding, green = Rounding, blue = Rounding;
        for (var tap = 0; tap < weights.Length; tap++, pixels += 3)
        {
            var weight = weights[tap];
            red += pixels[0] * weight;
            green += pixels[1] * weight;
            blue += pixels[2] * weight;
        }
        output[0] = Clip(red);
        output[1] = Clip(green);
        output[2] = Clip(blue);
    }

    // firstRow: the image row that the first row of source stands for (the horizontal pass skips unread rows).
    private static byte[] ResampleVertical(byte[] source, int width, Kernel kernel, int firstRow)
    {
        var outHeight = kernel.Start.Length;
        var stride = width * 3;
        var result = new byte[(long)outHeight * stride];
        for (var y = 0; y < outHeight; y++)
        {
            var weights = kernel.WeightsOf(y);
            var input = source.AsSpan((kernel.Start[y] - firstRow) * stride, weights.Length * stride);
            VerticalRow(input, stride, weights, result.AsSpan(y * stride, stride));
        }
        return result;
    }

    /// <summary>One output row: every byte is a weighted sum down its column, so whole vectors of bytes go at once.</summary>
    private static void VerticalRow(ReadOnlySpan<byte> input, int stride, ReadOnlySpan<int> weights, Span<byte> output)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref var inputStart = ref MemoryMarshal.GetReference(input);
            for (; i <= stride - Vector<byte>.Count; i += Vector<byte>.Count)
            {
                var sum0 = new Vector<int>(Rounding);
                var (sum1, sum2, sum3) = (sum0, sum0, sum0);
                for (var tap = 0; tap < weights.Length; tap++)
                {
                    var bytes = Vector.LoadUnsafe(ref inputStart, (nuint)(tap * stride + i));
                    Vector.Widen(bytes, out var low, out var high);
                    Vector.Widen(low, out var value0, out var value1);
                    Vector.Widen(high, out var value2, out var value3);
                    var weight = new Vector<int>(weights[tap]);
                    sum0 += Vector.AsVectorInt32(value0) * weight;
                    sum1 += Vector.AsVectorInt32(value1) * weight;
                    sum2 += Vector.AsVectorInt32(value2) * weight;
                    sum3 += Vector.AsVectorInt32(value3) * weight;
                }
                var clipped = Vector.Narrow(
                    Vector.Narrow(Clip(sum0), Clip(sum1)),
                    Vector.Narrow(Clip(sum2), Clip(sum3)));
                clipped.CopyTo(output[i..]);
            }
        }
        for (; i < stride; i++)
        {
            var sum = Rounding;
            for (var tap = 0; tap < weights.Length; tap++)
                sum += input[tap * stride + i] * weights[tap];
            output[i] = Clip(sum);
        }
    }

    private static Vector<uint> Clip(Vector<int> sum) => Vector.AsVectorUInt32(
        Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(sum, PrecisionBits), Vector<int>.Zero), new Vector<int>(255)));

    private static byte Clip(int sum) => (byte)Math.Clamp(sum >> PrecisionBits, 0, 255);

    /// <summary>For each output index: the first input index, how many inputs it reads, and their fixed-point weights.</summary>
    private sealed class Kernel
    {
        private Kernel(int[] start, int[] count, int[] weights, int stride)
        {
            Start = start;
            Count = count;
            Weights = weights;
            Stride = stride;
        }

        public int[] Start { get; }

        public int[] Count { get; }

        /// <summary>Stride weights per output index, the first Count of them used.</summary>
        public int[] Weights { get; }

        public int Stride { get; }

        public ReadOnlySpan<int> WeightsOf(int output) => Weights.AsSpan(output * Stride, Count[output]);

        /// <summary>Resample.c's <c>precompute_coeffs</c> and <c>normalize_coeffs_8bpc</c> for the whole input range.</summary>
        public static Kernel Bicubic(int inSize, int outSize)
        {
            var scale = (double)inSize / outSize;
            var filterScale = Math.Max(scale, 1.0);
            var support = BicubicSupport * filterScale;
            var stride = (int)Math.Ceiling(support) * 2 + 1;
            var start = new int[outSize];
            var count = new int[outSize];
            var weights = new int[outSize * stride];
            // Pillow multiplies by the reciprocal rather than dividing; the last bit of the weights depends on it.
            var inverseFilterScale = 1.0 / filterScale;
            Span<double> raw = stride <= 1024 ? stackalloc double[stride] : new double[stride];

            for (var output = 0; output < outSize; output++)
            {
                var center = (output + 0.5) * scale;
                // C's (int) cast truncates toward zero; negative values are clamped to 0 right after anyway.
                var min = Math.Max((int)(center - support + 0.5), 0);
                var max = Math.Min((int)(center + support + 0.5), inSize) - min;
                var total = 0.0;
                for (var tap = 0; tap < max; tap++)
                {
                    raw[tap] = Bicubic((tap + min - center + 0.5) * inverseFilterScale);
                    total += raw[tap];
                }
                for (var tap = 0; tap < max; tap++)
                {
                    var normalized = total != 0.0 ? raw[tap] / total : raw[tap];
                    weights[output * stride + tap] = (int)(normalized < 0
                        ? -0.5 + normalized * (1 << PrecisionBits)
                        : 0.5 + normalized * (1 << PrecisionBits));
                }
                start[output] = min;
                count[output] = max;
            }
            return new Kernel(start, count, weights, stride);
        }

        /// <summary>Keys' cubic convolution with a = -0.5.</summary>
        private static double Bicubic(double x)
        {
            const double a = -0.5;
            x = Math.Abs(x);
            if (x < 1.0)
                return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2.0)
                return (((x - 5) * x + 8) * x - 4) * a;
            return 0.0;
        }
    }
}
