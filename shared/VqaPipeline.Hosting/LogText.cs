using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace VqaPipeline.Hosting;

/// <summary>
/// Text a caller chose (a file name, a zip entry, an import key, a URL, a header, a model name) made safe to write into
/// a log line. A log line is read by people and parsed by tools: a line break in a file name would start a forged line
/// ("\r\n[FAKE] …"), an ANSI escape would repaint a terminal, a bidi override would show the text in another order than
/// it is. So every control character (C0, DEL, C1), Unicode line and paragraph separator and bidi control is written as
/// its escape (<c>\n</c>, <c>\u202E</c>), and the text is cut to a length that keeps one caller from filling the log.
/// </summary>
public static class LogText
{
    /// <summary>The most characters of a sanitized text before it is cut (the ellipsis not counted).</summary>
    public const int MaxLength = 200;

    /// <summary>What a cut text ends with.</summary>
    public const string Ellipsis = "…";

    /// <summary>
    /// <paramref name="text"/> with every character that could break or disguise a log line escaped, cut to
    /// <paramref name="maxLength"/> characters followed by <see cref="Ellipsis"/> when longer; null stays null.
    /// </summary>
    [return: NotNullIfNotNull(nameof(text))]
    public static string? Sanitize(string? text, int maxLength = MaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        if (text is null)
            return null;
        var sanitized = new StringBuilder(Math.Min(text.Length, maxLength) + Ellipsis.Length);
        foreach (var character in text)
        {
            var piece = IsUnsafe(character) ? Escape(character) : null;
            // An escape is kept whole or left out, never cut in half.
            if (sanitized.Length + (piece?.Length ?? 1) > maxLength)
                return Cut(sanitized);
            if (piece is null)
                sanitized.Append(character);
            else
                sanitized.Append(piece);
        }
        return sanitized.ToString();
    }

    /// <summary>Whether <paramref name="character"/> may not appear as it is in a log line.</summary>
    public static bool IsUnsafe(char character) =>
        char.IsControl(character) // C0 (CR, LF, ESC, …), DEL and C1 (NEL, CSI, …)
        || character is '\u2028' or '\u2029' // line and paragraph separators: line breaks to many readers
        || character is '\u200E' or '\u200F' or '\u061C' // directional marks
        || character is >= '\u202A' and <= '\u202E' // embeddings and overrides
        || character is >= '\u2066' and <= '\u2069'; // isolates

    private static string Escape(char character) => character switch
    {
        '\r' => "\\r",
        '\n' => "\\n",
        '\t' => "\\t",
        _ => "\\u" + ((int)character).ToString("X4", CultureInfo.InvariantCulture),
    };

    private static string Cut(StringBuilder sanitized)
    {
        // Never leave half a surrogate pair at the end.
        if (sanitized.Length > 0 && char.IsHighSurrogate(sanitized[^1]))
            sanitized.Length--;
        return sanitized.Append(Ellipsis).ToString();
    }
}
