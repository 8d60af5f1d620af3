using System.Buffers;
using System.Text;

namespace VqaPipeline.Ml.Tokenization;

/// <summary>
/// BERT WordPiece tokenizer that reproduces transformers 4.40's slow <c>BertTokenizer</c> token for token: text
/// outside special and added tokens is lowercased code point by code point, cleaned, split on whitespace, CJK
/// ideographs and punctuation, stripped of accents and cut into greedy longest-match word pieces. Immutable once
/// loaded, so one instance can serve many threads.
/// </summary>
public sealed class BertTokenizer
{
    private const string VocabularyFileName = "vocab.txt";

    private readonly Dictionary<string, int> _vocabulary;
    private readonly string?[] _tokenById;
    private readonly Dictionary<string, int> _addedTokenIds = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _addedTokensById = [];
    private readonly HashSet<int> _specialTokenIds = [];
    private readonly HashSet<string> _decodedApart = new(StringComparer.Ordinal);
    private readonly TokenMatcher _lowercaseProtected;
    private readonly TokenMatcher _keptWhole;
    private readonly HashSet<string> _neverSplit;
    private readonly BasicTokenizer _basicTokenizer;
    private readonly WordPieceTokenizer _wordPieceTokenizer;

    private BertTokenizer(Dictionary<string, int> vocabulary, string?[] tokenById, BertTokenizerOptions options)
    {
        _vocabulary = vocabulary;
        _tokenById = tokenById;
        Options = options;
        foreach (var added in options.AddedTokens)
        {
            _addedTokenIds[added.Content] = added.Id;
            _addedTokensById[added.Id] = added.Content;
        }

        var specialTokens = options.AllSpecialTokens();
        foreach (var token in specialTokens)
            _specialTokenIds.Add(IdOf(token) ?? throw new TokenizerLoadException(
                $"Special token '{token}' is neither in {VocabularyFileName} nor among the added tokens; add it to the vocabulary or fix the tokenizer configuration."));
        UnkTokenId = IdOf(options.UnkToken)!.Value;
        SepTokenId = IdOf(options.SepToken)!.Value;
        PadTokenId = IdOf(options.PadToken)!.Value;
        ClsTokenId = IdOf(options.ClsToken)!.Value;
        MaskTokenId = IdOf(options.MaskToken)!.Value;
        BosTokenId = options.BosToken is null ? null : IdOf(options.BosToken);
        EosTokenId = options.EosToken is null ? null : IdOf(options.EosToken);

        // As in transformers' _decode: added tokens that are not special, and additional special tokens beyond the
        // base vocabulary, are decoded as separate words.
        foreach (var added in options.AddedTokens.Where(a => !specialTokens.Contains(a.Content)))
            _decodedApart.Add(added.Content);
        foreach (var token in options.AdditionalSpecialTokens.Where(t => IdOf(t) >= VocabSize))
            _decodedApart.Add(token);

        _lowercaseProtected = new TokenMatcher(
            specialTokens.Concat(options.AddedTokens.Where(a => !a.Special && a.Normalized).Select(a => a.Content)));
        _keptWhole = new TokenMatcher(specialTokens.Concat(options.AddedTokens.Select(a => a.Content)));
        _neverSplit = new HashSet<string>(options.NeverSplit, StringComparer.Ordinal);
        _basicTokenizer = new BasicTokenizer(options.TokenizeChineseChars, options.StripAccents ?? options.DoLowerCase,
            new HashSet<string>(options.NeverSplit.Concat(specialTokens), StringComparer.Ordinal));
        _wordPieceTokenizer = new WordPieceTokenizer(vocabulary, options.UnkToken);
    }

    public BertTokenizerOptions Options { get; }

    /// <summary>Number of distinct tokens in <c>vocab.txt</c> (added tokens not included).</summary>
    public int VocabSize => _vocabulary.Count;

    public int UnkTokenId { get; }
    public int SepTokenId { get; }
    public int PadTokenId { get; }
    public int ClsTokenId { get; }
    public int MaskTokenId { get; }
    public int? BosTokenId { get; }
    public int? EosTokenId { get; }

    /// <summary>
    /// Loads a tokenizer from a model folder: <c>vocab.txt</c> plus, when present, <c>tokenizer_config.json</c>,
    /// <c>special_tokens_map.json</c> and <c>added_tokens.json</c>.
    /// </summary>
    /// <exception cref="TokenizerLoadException">The folder or its vocabulary is missing, or a file cannot be read.</exception>
    public static BertTokenizer FromPretrained(string folder)
    {
        if (!Directory.Exists(folder))
            throw new TokenizerLoadException($"Tokenizer folder '{folder}' does not exist.");
        var vocabularyPath = Path.Combine(folder, VocabularyFileName);
        if (!File.Exists(vocabularyPath))
            throw new TokenizerLoadException(
                $"Tokenizer folder '{folder}' has no {VocabularyFileName}; a BERT WordPiece tokenizer needs its vocabulary file.");
        return FromVocabFile(vocabularyPath, TokenizerFolder.ReadOptions(folder));
    }

    /// <summary>Loads a tokenizer from a <c>vocab.txt</c> (one token per line, the line number is its id).</summary>
    /// <exception cref="TokenizerLoadException">The file is missing or unreadable, or lacks a special token.</exception>
    public static BertTokenizer FromVocabFile(string vocabPath, BertTokenizerOptions? options = null)
    {
        if (!File.Exists(vocabPath))
            throw new TokenizerLoadException($"Vocabulary file '{vocabPath}' does not exist.");
        var lines = ReadVocabularyLines(vocabPath);
        // A token listed twice keeps its last id, and its earlier id decodes as unknown, as in transformers.
        var vocabulary = new Dictionary<string, int>(lines.Count, StringComparer.Ordinal);
        for (var id = 0; id < lines.Count; id++)
            vocabulary[lines[id]] = id;
        var tokenById = new string?[lines.Count];
        foreach (var (token, id) in vocabulary)
            tokenById[id] = token;
        return new BertTokenizer(vocabulary, tokenById, options ?? new BertTokenizerOptions());
    }

    /// <summary>The id of a vocabulary or added token, or <c>null</c> when the tokenizer does not know it.</summary>
    public int? IdOf(string token) =>
        _addedTokenIds.TryGetValue(token, out var added) ? added
        : _vocabulary.TryGetValue(token, out var id) ? id
        : null;

    /// <summary>The word pieces of <paramref name="text"/>, without [CLS] and [SEP] (transformers' <c>tokenize</c>).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var prepared = Options.DoLowerCase ? LowercaseOutside(_lowercaseProtected, text) : text;
        var segmentStart = 0;
        while (_keptWhole.FindNext(prepared, segmentStart, out var matchStart, out var match))
        {
            TokenizeSegment(prepared[segmentStart..matchStart], tokens);
            tokens.Add(match);
            segmentStart = matchStart + match.Length;
        }
        TokenizeSegment(segmentStart == 0 ? prepared : prepared[segmentStart..], tokens);
        return tokens;
    }

    /// <summary>
    /// Encodes one text as <c>[CLS] pieces [SEP]</c>. With <paramref name="truncate"/>, pieces beyond
    /// <paramref name="maxLength"/> - 2 are dropped; with <paramref name="padToMaxLength"/>, [PAD] fills up to
    /// <paramref name="maxLength"/> on the right. <paramref name="maxLength"/> defaults to
    /// <see cref="BertTokenizerOptions.ModelMaxLength"/>.
    /// </summary>
    public TokenizedText Encode(string text, int? maxLength = null, bool padToMaxLength = false, bool truncate = false)
    {
        var limit = LimitFor(maxLength, padToMaxLength);
        var pieces = PiecesOf(text, truncate ? limit : null);
        return Assemble(pieces, padToMaxLength ? Math.Max(limit!.Value, pieces.SequenceLength) : pieces.SequenceLength);
    }

    /// <summary>
    /// Encodes several texts to one common length: the longest sequence's, or <paramref name="maxLength"/> with
    /// <paramref name="padToMaxLength"/> (never shorter than the longest sequence, so rows always line up).
    /// </summary>
    public IReadOnlyList<TokenizedText> EncodeBatch(IReadOnlyList<string> texts, int? maxLength = null,
        bool padToMaxLength = false, bool truncate = false)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var limit = LimitFor(maxLength, padToMaxLength);
        var pieces = texts.Select(text => PiecesOf(text, truncate ? limit : null)).ToArray();
        var length = pieces.Select(p => p.SequenceLength).DefaultIfEmpty(0).Max();
        if (padToMaxLength) length = Math.Max(length, limit!.Value);
        return pieces.Select(p => Assemble(p, length)).ToArray();
    }

    /// <summary>
    /// Turns ids back into text like transformers' <c>decode</c>: pieces joined with spaces, "##" continuations glued
    /// on, special tokens optionally skipped, and (per <see cref="BertTokenizerOptions.CleanUpTokenizationSpaces"/>)
    /// the space before ". ? ! ," and English contractions removed. Unknown ids decode as the unknown token.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var parts = new List<string>();
        var pieces = new List<string>();
        foreach (var id in ids)
        {
            if (skipSpecialTokens && _specialTokenIds.Contains(id)) continue;
            var token = TokenOf(id);
            if (!_decodedApart.Contains(token))
            {
                pieces.Add(token);
                continue;
            }
            if (pieces.Count > 0)
            {
                var joined = JoinPieces(pieces);
                if (joined.Length > 0) parts.Add(joined);
                pieces.Clear();
            }
            parts.Add(token);
        }
        if (pieces.Count > 0) parts.Add(JoinPieces(pieces));
        var text = string.Join(' ', parts);
        return Options.CleanUpTokenizationSpaces ? CleanUpSpaces(text) : text;
    }

    private void TokenizeSegment(string segment, List<string> tokens)
    {
        if (segment.Length == 0) return;
        var words = new List<string>();
        _basicTokenizer.Tokenize(segment, words);
        foreach (var word in words)
        {
            if (_neverSplit.Contains(word))
                tokens.Add(word);
            else
                _wordPieceTokenizer.Tokenize(word, tokens);
        }
    }

    /// <summary>The word pieces of a text, cut (as transformers' longest_first does for one sequence) to fit.</summary>
    private Pieces PiecesOf(string text, int? truncateTo)
    {
        var tokens = Tokenize(text);
        if (truncateTo is not { } limit || tokens.Count + 2 <= limit)
            return new Pieces(tokens, tokens.Count, Truncated: false);
        if (limit <= 2)
            throw new ArgumentOutOfRangeException("maxLength", limit,
                "A maximum length of 2 or less leaves no room for any word piece beside [CLS] and [SEP].");
        return new Pieces(tokens, limit - 2, Truncated: true);
    }

    /// <summary>[CLS] pieces [SEP], then [PAD] up to <paramref name="length"/>.</summary>
    private TokenizedText Assemble(Pieces pieces, int length)
    {
        var ids = new int[length];
        var attention = new int[length];
        ids[0] = ClsTokenId;
        for (var i = 0; i < pieces.Count; i++)
            ids[i + 1] = IdOf(pieces.Tokens[i]) ?? UnkTokenId;
        ids[pieces.Count + 1] = SepTokenId;
        Array.Fill(ids, PadTokenId, pieces.SequenceLength, length - pieces.SequenceLength);
        Array.Fill(attention, 1, 0, pieces.SequenceLength);
        return new TokenizedText(ids, new int[length], attention, pieces.Truncated);
    }

    private int? LimitFor(int? maxLength, bool padToMaxLength)
    {
        if (maxLength is < 0)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "The maximum length cannot be negative.");
        var limit = maxLength ?? Options.ModelMaxLength;
        if (padToMaxLength && limit is null)
            throw new ArgumentException(
                "Padding to the maximum length needs a maxLength: this tokenizer's configuration sets no model_max_length.",
                nameof(maxLength));
        return limit;
    }

    private string TokenOf(int id) =>
        _addedTokensById.TryGetValue(id, out var added) ? added
        : (uint)id < (uint)_tokenById.Length && _tokenById[id] is { } token ? token
        : Options.UnkToken;

    private static string JoinPieces(List<string> pieces) =>
        string.Join(' ', pieces).Replace(" ##", "", StringComparison.Ordinal).Trim(PythonWhitespace);

    /// <summary>transformers' <c>clean_up_tokenization</c>: no space before . ? ! , and English contractions.</summary>
    internal static string CleanUpSpaces(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);

    /// <summary>Lowercases every code point except inside protected tokens (transformers' pre-tokenization regex).</summary>
    private static string LowercaseOutside(TokenMatcher protectedTokens, string text)
    {
        var builder = new StringBuilder(text.Length);
        var position = 0;
        while (position < text.Length)
        {
            var found = protectedTokens.FindNext(text, position, out var matchStart, out var match);
            var end = found ? matchStart : text.Length;
            for (var i = position; i < end;)
            {
                var codePoint = ReferenceUnicode.CodePointAt(text, i, out var length);
                ReferenceUnicode.AppendLowercase(builder, codePoint);
                i += length;
            }
            if (!found) break;
            builder.Append(match);
            position = matchStart + match.Length;
        }
        return builder.ToString();
    }

    private static List<string> ReadVocabularyLines(string vocabPath)
    {
        // Strict UTF-8 without BOM detection, like Python's open(..., encoding="utf-8").
        var encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        try
        {
            using var reader = new StreamReader(vocabPath, encoding, detectEncodingFromByteOrderMarks: false);
            var lines = new List<string>();
            while (reader.ReadLine() is { } line)
                lines.Add(line);
            return lines;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new TokenizerLoadException($"Cannot read vocabulary file '{vocabPath}': {e.Message}", e);
        }
    }

    private sealed record Pieces(IReadOnlyList<string> Tokens, int Count, bool Truncated)
    {
        public int SequenceLength => Count + 2;
    }

    private static readonly char[] PythonWhitespace =
        "\t\n\v\f\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
            .ToCharArray();

    /// <summary>Finds the leftmost occurrence of any of a few tokens, the longest one where several start there.</summary>
    private sealed class TokenMatcher
    {
        private readonly string[] _tokensLongestFirst;
        private readonly SearchValues<char> _firstCharacters;

        public TokenMatcher(IEnumerable<string> tokens)
        {
            _tokensLongestFirst = tokens.Where(t => t.Length > 0).Distinct(StringComparer.Ordinal)
                .OrderByDescending(t => t.Length).ToArray();
            _firstCharacters = SearchValues.Create(_tokensLongestFirst.Select(t => t[0]).Distinct().ToArray());
        }

        public bool FindNext(string text, int from, out int start, out string token)
        {
            for (start = from; start < text.Length; start++)
            {
                var next = text.AsSpan(start).IndexOfAny(_firstCharacters);
                if (next < 0) break;
                start += next;
                foreach (var candidate in _tokensLongestFirst)
                {
                    if (!text.AsSpan(start).StartsWith(candidate, StringComparison.Ordinal)) continue;
                    token = candidate;
                    return true;
                }
            }
            start = text.Length;
            token = "";
            return false;
        }
    }
}
