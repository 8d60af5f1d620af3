namespace VqaPipeline.Ml.Tokenization;

/// <summary>
/// Greedy longest-match-first WordPiece over code points: each word becomes the longest vocabulary prefix, then
/// "##"-continuations; a word with an unmatched rest, or longer than <see cref="MaxInputCharsPerWord"/> code points,
/// becomes the unknown token as a whole.
/// </summary>
internal sealed class WordPieceTokenizer(Dictionary<string, int> vocabulary, string unknownToken)
{
    public const int MaxInputCharsPerWord = 100;
    private const string ContinuationPrefix = "##";

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup =
        vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();

    public void Tokenize(string word, List<string> output)
    {
        Span<int> boundaries = word.Length <= 256 ? stackalloc int[word.Length + 1] : new int[word.Length + 1];
        var codePoints = CodePointBoundaries(word, boundaries);
        if (codePoints > MaxInputCharsPerWord)
        {
            output.Add(unknownToken);
            return;
        }

        var firstPiece = output.Count;
        Span<char> candidate = word.Length <= 254 ? stackalloc char[word.Length + 2] : new char[word.Length + 2];
        for (var start = 0; start < codePoints;)
        {
            var prefixLength = start == 0 ? 0 : ContinuationPrefix.Length;
            ContinuationPrefix.AsSpan(0, prefixLength).CopyTo(candidate);
            word.AsSpan(boundaries[start]).CopyTo(candidate[prefixLength..]);
            var end = codePoints;
            string? piece = null;
            for (; end > start; end--)
            {
                var length = prefixLength + boundaries[end] - boundaries[start];
                if (_lookup.TryGetValue(candidate[..length], out var key, out _))
                {
                    piece = key;
                    break;
                }
            }
            if (piece is null)
            {
                output.RemoveRange(firstPiece, output.Count - firstPiece);
                output.Add(unknownToken);
                return;
            }
            output.Add(piece);
            start = end;
        }
    }

    /// <summary>Fills the UTF-16 offset of every code point (plus the end) and returns the code point count.</summary>
    private static int CodePointBoundaries(string word, Span<int> boundaries)
    {
        var count = 0;
        for (var i = 0; i < word.Length; count++)
        {
            boundaries[count] = i;
            ReferenceUnicode.CodePointAt(word, i, out var length);
            i += length;
        }
        boundaries[count] = word.Length;
        return count;
    }
}
