using System.Globalization;
using System.Text;

namespace VqaPipeline.Ml.Tokenization;

/// <summary>
/// Character properties as the reference Python (3.11, Unicode 14.0) sees them. .NET 10 knows Unicode 16, so code
/// points assigned since 14.0 would otherwise survive text cleaning here while Python drops them as unassigned (new
/// emoji such as U+1FAE8 are the common case). Only differences found by comparing every code point of
/// <c>unicodedata.category</c>/<c>str.lower</c> (Python 3.11) with <see cref="CharUnicodeInfo"/>/<see cref="Rune"/>
/// are listed here; canonical decompositions matched for every code point assigned in 14.0.
/// </summary>
internal static class ReferenceUnicode
{
    private const int LatinCapitalIWithDotAbove = 0x0130;
    private const int AhomSignKhaSerik = 0x1171E; // Mn in 14.0, Mc since 15.0

    // Sorted, inclusive ranges of code points assigned after Unicode 14.0 (that .NET 10 knows).
    private static readonly (int First, int Last)[] AssignedAfterReference =
    [
        (0x0897, 0x0897), (0x0CF3, 0x0CF3), (0x0ECE, 0x0ECE), (0x1B4E, 0x1B4F), (0x1B7F, 0x1B7F), (0x1C89, 0x1C8A),
        (0x2427, 0x2429), (0x2FFC, 0x2FFF), (0x31E4, 0x31E5), (0x31EF, 0x31EF), (0xA7CB, 0xA7CD), (0xA7DA, 0xA7DC),
        (0x105C0, 0x105F3), (0x10D40, 0x10D65), (0x10D69, 0x10D85), (0x10D8E, 0x10D8F), (0x10EC2, 0x10EC4), (0x10EFC, 0x10EFF),
        (0x1123F, 0x11241), (0x11380, 0x11389), (0x1138B, 0x1138B), (0x1138E, 0x1138E), (0x11390, 0x113B5), (0x113B7, 0x113C0),
        (0x113C2, 0x113C2), (0x113C5, 0x113C5), (0x113C7, 0x113CA), (0x113CC, 0x113D5), (0x113D7, 0x113D8), (0x113E1, 0x113E2),
        (0x116D0, 0x116E3), (0x11B00, 0x11B09), (0x11BC0, 0x11BE1), (0x11BF0, 0x11BF9), (0x11F00, 0x11F10), (0x11F12, 0x11F3A),
        (0x11F3E, 0x11F5A), (0x1342F, 0x1342F), (0x13439, 0x13455), (0x13460, 0x143FA), (0x16100, 0x16139), (0x16D40, 0x16D79),
        (0x18CFF, 0x18CFF), (0x1B132, 0x1B132), (0x1B155, 0x1B155), (0x1CC00, 0x1CCF9), (0x1CD00, 0x1CEB3), (0x1D2C0, 0x1D2D3),
        (0x1DF25, 0x1DF2A), (0x1E030, 0x1E06D), (0x1E08F, 0x1E08F), (0x1E4D0, 0x1E4F9), (0x1E5D0, 0x1E5FA), (0x1E5FF, 0x1E5FF),
        (0x1F6DC, 0x1F6DC), (0x1F774, 0x1F776), (0x1F77B, 0x1F77F), (0x1F7D9, 0x1F7D9), (0x1F8B2, 0x1F8BB), (0x1F8C0, 0x1F8C1),
        (0x1FA75, 0x1FA77), (0x1FA87, 0x1FA89), (0x1FA8F, 0x1FA8F), (0x1FAAD, 0x1FAAF), (0x1FABB, 0x1FABF), (0x1FAC6, 0x1FAC6),
        (0x1FACE, 0x1FACF), (0x1FADA, 0x1FADC), (0x1FADF, 0x1FADF), (0x1FAE8, 0x1FAE9), (0x1FAF7, 0x1FAF8), (0x1FBCB, 0x1FBEF),
        (0x2B739, 0x2B739), (0x2EBF0, 0x2EE5D), (0x31350, 0x323AF),
    ];

    public static UnicodeCategory CategoryOf(int codePoint)
    {
        if (IsAssignedAfterReference(codePoint)) return UnicodeCategory.OtherNotAssigned;
        if (codePoint == AhomSignKhaSerik) return UnicodeCategory.NonSpacingMark;
        return CharUnicodeInfo.GetUnicodeCategory(codePoint);
    }

    /// <summary>Python's <c>str.lower</c> of one code point (full mapping: U+0130 becomes two code points).</summary>
    public static void AppendLowercase(StringBuilder builder, int codePoint)
    {
        if (codePoint < 0x80)
            builder.Append((char)(codePoint is >= 'A' and <= 'Z' ? codePoint + 32 : codePoint));
        else if (codePoint == LatinCapitalIWithDotAbove)
            builder.Append("i\u0307");
        else if (!Rune.IsValid(codePoint) || IsAssignedAfterReference(codePoint))
            AppendCodePoint(builder, codePoint);
        else
            AppendCodePoint(builder, Rune.ToLowerInvariant(new Rune(codePoint)).Value);
    }

    /// <summary>The code point at <paramref name="index"/>; an unpaired surrogate counts as one code point, as in Python.</summary>
    public static int CodePointAt(string text, int index, out int length)
    {
        var c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            length = 2;
            return char.ConvertToUtf32(c, text[index + 1]);
        }
        length = 1;
        return c;
    }

    public static void AppendCodePoint(StringBuilder builder, int codePoint)
    {
        if (codePoint < 0x10000)
            builder.Append((char)codePoint);
        else
            builder.Append(char.ConvertFromUtf32(codePoint));
    }

    private static bool IsAssignedAfterReference(int codePoint)
    {
        if (codePoint < AssignedAfterReference[0].First) return false;
        int low = 0, high = AssignedAfterReference.Length - 1;
        while (low <= high)
        {
            var middle = (low + high) / 2;
            var (first, last) = AssignedAfterReference[middle];
            if (codePoint < first) high = middle - 1;
            else if (codePoint > last) low = middle + 1;
            else return true;
        }
        return false;
    }
}
