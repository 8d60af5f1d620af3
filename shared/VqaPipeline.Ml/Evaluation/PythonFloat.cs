using System.Numerics;

namespace VqaPipeline.Ml.Evaluation;

/// <summary>The few CPython float operations the official metric's numbers depend on, to the last bit.</summary>
internal static class PythonFloat
{
    /// <summary>
    /// CPython 3.12's <c>sum()</c> from its int start 0: ints add exactly until the first float, then floats add with
    /// Neumaier compensation while ints add plainly, and the compensation is added once at the end.
    /// </summary>
    public static double Sum(IEnumerable<PythonNumber> items)
    {
        long integerSum = 0;
        double? floatSum = null;
        var compensation = 0.0;
        foreach (var item in items)
        {
            if (floatSum is not { } total)
            {
                if (item.IsInteger) integerSum += (long)item.Value;
                else floatSum = integerSum + item.Value;
                continue;
            }
            if (item.IsInteger)
            {
                floatSum = total + item.Value;
                continue;
            }
            var next = total + item.Value;
            compensation += Math.Abs(total) >= Math.Abs(item.Value) ? total - next + item.Value : item.Value - next + total;
            floatSum = next;
        }
        if (floatSum is not { } result) return integerSum;
        return compensation != 0 && double.IsFinite(compensation) ? result + compensation : result;
    }

    /// <summary>
    /// Python 2.7's <c>sum()</c> (and Python 3's before 3.12): plain left-to-right double additions. The official
    /// evaluator's ints are 0 and 1, which Python 2.7 adds exactly first and then as doubles, so the order is all.
    /// </summary>
    public static double Sum27(IEnumerable<PythonNumber> items)
    {
        var total = 0.0;
        foreach (var item in items) total += item.Value;
        return total;
    }

    /// <summary><c>statistics.mean</c> of floats: the exact mean of the binary values, rounded once.</summary>
    public static double ExactMean(IReadOnlyList<double> values)
    {
        // Every finite double is an integer multiple of 2^-1074.
        const int scale = 1074;
        var numerator = BigInteger.Zero;
        foreach (var value in values) numerator += ScaledToInteger(value, scale);
        return Divide(numerator, BigInteger.One << scale, values.Count);
    }

    /// <summary>Python 3's <c>round(value, digits)</c>: the exact binary value rounded half-to-even in decimal.</summary>
    public static double Round(double value, int digits) => RoundDecimal(value, digits, tiesToEven: true);

    /// <summary>
    /// Python 2.7's <c>round(value, digits)</c>: the exact binary value rounded in decimal, ties away from zero
    /// (<c>round(0.125, 2)</c> is 0.13 there and 0.12 in Python 3).
    /// </summary>
    public static double Round27(double value, int digits) => RoundDecimal(value, digits, tiesToEven: false);

    private static double RoundDecimal(double value, int digits, bool tiesToEven)
    {
        if (!double.IsFinite(value)) return value;
        var (mantissa, exponent) = Decompose(Math.Abs(value));
        var power = BigInteger.Pow(10, digits);
        BigInteger numerator = mantissa * power, denominator = BigInteger.One;
        if (exponent >= 0) numerator <<= exponent;
        else denominator <<= -exponent;
        var quotient = BigInteger.DivRem(numerator, denominator, out var remainder);
        var twice = remainder * 2;
        if (twice > denominator || (twice == denominator && (!tiesToEven || !quotient.IsEven))) quotient += 1;
        // Python then reads the rounded decimal back: the correctly rounded double of quotient / 10^digits.
        var rounded = Divide(quotient, power, 1);
        return value < 0 ? -rounded : rounded;
    }

    private static BigInteger ScaledToInteger(double value, int scale)
    {
        var (mantissa, exponent) = Decompose(Math.Abs(value));
        var scaled = mantissa << (exponent + scale);
        return value < 0 ? -scaled : scaled;
    }

    private static (BigInteger Mantissa, int Exponent) Decompose(double value)
    {
        var bits = BitConverter.DoubleToInt64Bits(value);
        var biased = (int)((bits >> 52) & 0x7FF);
        var fraction = bits & 0xF_FFFF_FFFF_FFFFL;
        return biased == 0 ? (fraction, -1074) : (fraction | (1L << 52), biased - 1075);
    }

    // numerator / (denominator * count) correctly rounded (half to even), for non-negative numerators.
    private static double Divide(BigInteger numerator, BigInteger denominator, int count)
    {
        denominator *= count;
        var sign = numerator.Sign;
        if (sign == 0) return 0.0;
        numerator = BigInteger.Abs(numerator);
        // Keep 62 quotient bits: the conversion to double then rounds once, with a sticky bit for the remainder.
        var shift = 62 - (int)(numerator.GetBitLength() - denominator.GetBitLength());
        var quotient = shift >= 0
            ? BigInteger.DivRem(numerator << shift, denominator, out var remainder)
            : BigInteger.DivRem(numerator, denominator << -shift, out remainder);
        var bits = (ulong)quotient | (remainder.IsZero ? 0UL : 1UL);
        var result = Math.ScaleB(bits, -shift);
        return sign < 0 ? -result : result;
    }
}

/// <summary>A Python number as the official code produces it: <c>min(1, k / 3)</c> is the int 1 or a float.</summary>
internal readonly record struct PythonNumber(double Value, bool IsInteger);
