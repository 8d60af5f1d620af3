using System.Globalization;
using System.Text;

namespace VqaPipeline.Ml.Tokenization;

/// <summary>
/// BERT's pre-tokenizer (transformers <c>BasicTokenizer</c>): cleans the text, isolates CJK ideographs, splits on
/// whitespace, strips accents and splits off punctuation. Lowercasing is not repeated here: the caller lowercases the
/// whole text code point by code point first (as <c>PreTrainedTokenizer.tokenize</c> does), and Python's second,
/// per-word <c>lower()</c> changes nothing after that (lowercasing is idempotent and no capital sigma is left).
/// </summary>
internal sealed class BasicTokenizer(bool tokenizeChineseChars, bool stripAccents, IReadOnlySet<string> neverSplit)
{
    public void Tokenize(string text, List<string> output)
    {
        // Cleaning removed every surrogate and non-character, so .NET's normalization cannot reject the text.
        var normalized = Clean(text).Normalize(NormalizationForm.FormC);
        var start = 0;
        for (var i = 0; i <= normalized.Length; i++)
        {
            if (i < normalized.Length && !IsWhitespace(normalized[i])) continue;
            if (i > start) AddWord(normalized[start..i], output);
            start = i + 1;
        }
    }

    private void AddWord(string word, List<string> output)
    {
        if (neverSplit.Contains(word))
        {
            output.Add(word);
            return;
        }
        // transformers checks never_split again after accent stripping, before splitting on punctuation.
        var stripped = stripAccents ? StripAccents(word) : word;
        if (neverSplit.Contains(stripped))
            output.Add(stripped);
        else
            SplitOnPunctuation(stripped, output);
    }

    /// <summary>Drops NUL, U+FFFD and every C* character, turns whitespace into spaces and pads CJK ideographs.</summary>
    private string Clean(string text)
    {
        var builder = new StringBuilder(text.Length + 8);
        for (var i = 0; i < text.Length;)
        {
            var codePoint = ReferenceUnicode.CodePointAt(text, i, out var length);
            i += length;
            if (codePoint is 0 or 0xFFFD || IsControl(codePoint)) continue;
            if (IsCleanedToSpace(codePoint))
                builder.Append(' ');
            else if (tokenizeChineseChars && IsChineseCharacter(codePoint))
                builder.Append(' ').Append(text, i - length, length).Append(' ');
            else
                builder.Append(text, i - length, length);
        }
        return builder.ToString();
    }

    private static string StripAccents(string word)
    {
        if (Ascii.IsValid(word)) return word;
        var decomposed = word.Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        for (var i = 0; i < decomposed.Length;)
        {
            var codePoint = ReferenceUnicode.CodePointAt(decomposed, i, out var length);
            if (ReferenceUnicode.CategoryOf(codePoint) != UnicodeCategory.NonSpacingMark)
                builder.Append(decomposed, i, length);
            i += length;
        }
        return builder.ToString();
    }

    private static void SplitOnPunctuation(string word, List<string> output)
    {
        var start = 0;
        for (var i = 0; i < word.Length;)
        {
            var codePoint = ReferenceUnicode.CodePointAt(word, i, out var length);
            if (IsPunctuation(codePoint))
            {
                if (i > start) output.Add(word[start..i]);
                output.Add(word.Substring(i, length));
                start = i + length;
            }
            i += length;
        }
        if (start < word.Length)
            output.Add(start == 0 ? word : word[start..]);
    }

    private static bool IsControl(int codePoint) => codePoint is not ('\t' or '\n' or '\r') &&
        ReferenceUnicode.CategoryOf(codePoint) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    private static bool IsCleanedToSpace(int codePoint) => codePoint is ' ' or '\t' or '\n' or '\r' ||
        ReferenceUnicode.CategoryOf(codePoint) == UnicodeCategory.SpaceSeparator;

    /// <summary>Python's <c>str.split()</c> whitespace; after cleaning only spaces and U+2028/U+2029 can remain.</summary>
    private static bool IsWhitespace(char c) => c is ' ' or '\u2028' or '\u2029';

    /// <summary>All non-alphanumeric ASCII counts as punctuation, like Python's BERT, plus Unicode P* categories.</summary>
    private static bool IsPunctuation(int codePoint) =>
        codePoint is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126 ||
        ReferenceUnicode.CategoryOf(codePoint) is UnicodeCategory.ConnectorPunctuation
            or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;

    /// <summary>The CJK Unified Ideograph and Compatibility Ideograph blocks (not Hiragana, Katakana or Hangul).</summary>
    private static bool IsChineseCharacter(int codePoint) =>
        codePoint is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF
            or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
