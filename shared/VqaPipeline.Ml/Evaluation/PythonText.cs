using System.Globalization;
using System.Text;

namespace VqaPipeline.Ml.Evaluation;

/// <summary>The interpreter whose string and float semantics a metric reproduces.</summary>
internal enum PythonVersion
{
    /// <summary>
    /// Python 2.7 on <c>unicode</c> text: simple lowercase mapping of Unicode 5.2, U+180E is white space, and a
    /// regular expression compiled without <c>re.UNICODE</c> matches only ASCII digits with <c>\d</c>.
    /// </summary>
    Python27,

    /// <summary>Python 3 on <c>str</c>: full lowercase mapping, <c>\d</c> is any Unicode decimal digit.</summary>
    Python3,
}

/// <summary>The few <c>str</c> / <c>unicode</c> methods the VQA evaluators call, as each Python version defines them.</summary>
internal static partial class PythonText
{
    private const char CapitalSigma = '\u03a3';

    /// <summary><c>isspace()</c> of one UTF-16 unit (every Python white-space character is in the BMP).</summary>
    public static bool IsWhitespace(char c, PythonVersion python) =>
        char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f' || (python == PythonVersion.Python27 && c == '\u180e');

    /// <summary><c>strip()</c> without arguments.</summary>
    public static string Strip(string text, PythonVersion python)
    {
        int start = 0, end = text.Length;
        while (start < end && IsWhitespace(text[start], python)) start++;
        while (end > start && IsWhitespace(text[end - 1], python)) end--;
        return text[start..end];
    }

    /// <summary><c>split()</c> without arguments: runs of white space separate words, none are empty.</summary>
    public static IEnumerable<string> Split(string text, PythonVersion python)
    {
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var boundary = i == text.Length || IsWhitespace(text[i], python);
            if (boundary && start >= 0)
            {
                yield return text[start..i];
                start = -1;
            }
            else if (!boundary && start < 0) start = i;
        }
    }

    /// <summary><c>lower()</c>.</summary>
    public static string Lower(string text, PythonVersion python) =>
        python == PythonVersion.Python27 ? Lower27(text) : Lower3(text);

    // Python 2.7 maps each code point to one code point from its own Unicode 5.2 table.
    private static string Lower27(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes()) builder.Append(char.ConvertFromUtf32(Lower27(rune.Value)));
        return builder.ToString();
    }

    private static int Lower27(int codePoint)
    {
        int low = 0, high = Python27LowercaseRuns.Length - 1;
        while (low <= high)
        {
            var middle = (low + high) / 2;
            var (first, last, stride, delta) = Python27LowercaseRuns[middle];
            if (codePoint < first) high = middle - 1;
            else if (codePoint > last) low = middle + 1;
            else return (codePoint - first) % stride == 0 ? codePoint + delta : codePoint;
        }
        return codePoint;
    }

    // Python 3 uses the full mapping: beyond the simple one (which .NET's invariant casing gives), U+0130 becomes
    // "i" + combining dot above, and a capital sigma that ends a word becomes the final form (the Final_Sigma rule).
    private static string Lower3(string text)
    {
        var lowered = text.Replace("\u0130", "i\u0307", StringComparison.Ordinal).ToLowerInvariant();
        if (!text.Contains(CapitalSigma)) return lowered;
        // Invariant casing keeps the length in UTF-16 units; each U+0130 adds one. Walk both strings together.
        var builder = new StringBuilder(lowered.Length);
        for (int i = 0, j = 0; i < text.Length; i++, j++)
        {
            if (text[i] == '\u0130')
            {
                builder.Append(lowered, j, 2);
                j++;
                continue;
            }
            builder.Append(text[i] == CapitalSigma && IsFinalSigma(text, i) ? '\u03c2' : lowered[j]);
        }
        return builder.ToString();
    }

    // \p{cased} \p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased}), as CPython's handle_capital_sigma checks it.
    private static bool IsFinalSigma(string text, int index)
    {
        var before = index - 1;
        while (before >= 0 && IsCaseIgnorable(text[before])) before--;
        if (before < 0 || !IsCased(text[before])) return false;
        var after = index + 1;
        while (after < text.Length && IsCaseIgnorable(text[after])) after++;
        return after == text.Length || !IsCased(text[after]);
    }

    // Cased: a letter with case, or one of the Other_Lowercase / Other_Uppercase characters that the case-ignorable
    // check does not skip first (ª, º, Roman numerals, circled letters).
    private static bool IsCased(char c) =>
        CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
            or UnicodeCategory.TitlecaseLetter
        || c is '\u00aa' or '\u00ba' or >= '\u2160' and <= '\u217f' or >= '\u24b6' and <= '\u24e9';

    // Case-ignorable: Mn, Me, Cf, Lm, Sk, and the Word_Break MidLetter / MidNumLet / Single_Quote characters.
    private static bool IsCaseIgnorable(char c) =>
        CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || c is '\'' or '.' or ':' or '\u00b7' or '\u0387' or '\u055f' or '\u05f4' or '\u2018' or '\u2019' or '\u2024'
            or '\u2027' or '\ufe13' or '\ufe52' or '\ufe55' or '\uff07' or '\uff0e' or '\uff1a';
}
