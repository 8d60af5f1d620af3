using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VqaPipeline.Ml.Tokenization;

/// <summary>
/// GPT-2's byte-level BPE as transformers 4.40's slow <c>GPT2Tokenizer</c> applies it (OPT and BLIP-2 OPT checkpoints):
/// added tokens are split out first, the rest is cut by GPT-2's pattern into words, each word's UTF-8 bytes are mapped
/// to printable characters and merged by <c>merges.txt</c> rank, and <c>vocab.json</c> gives the ids. Encoding
/// prepends the bos token when <c>add_bos_token</c> is set. Immutable once loaded.
/// </summary>
public sealed class ByteLevelBpeTokenizer
{
    private const string VocabularyFileName = "vocab.json";
    private const string MergesFileName = "merges.txt";

    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte =
        ByteToChar.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    private readonly Dictionary<string, int> vocabulary;
    private readonly Dictionary<int, string> tokenById;
    private readonly Dictionary<(string, string), int> mergeRanks;
    private readonly Dictionary<string, int> addedTokens;
    private readonly HashSet<int> specialIds;
    private readonly string[] addedLongestFirst;
    private readonly Dictionary<string, string[]> cache = new(StringComparer.Ordinal);
    private readonly Lock cacheLock = new();

    private ByteLevelBpeTokenizer(Dictionary<string, int> vocabulary, Dictionary<(string, string), int> mergeRanks,
        Dictionary<string, int> addedTokens, IReadOnlyCollection<string> specialTokens, int? bosTokenId, int unkTokenId,
        bool addBosToken, bool addPrefixSpace, bool cleanUpTokenizationSpaces)
    {
        this.vocabulary = vocabulary;
        this.mergeRanks = mergeRanks;
        this.addedTokens = addedTokens;
        tokenById = vocabulary.GroupBy(p => p.Value).ToDictionary(g => g.Key, g => g.Last().Key);
        foreach (var (content, id) in addedTokens) tokenById[id] = content;
        specialIds = specialTokens.Select(t => IdOf(t)).OfType<int>().ToHashSet();
        addedLongestFirst = addedTokens.Keys.Where(t => t.Length > 0).OrderByDescending(t => t.Length).ToArray();
        BosTokenId = bosTokenId;
        UnkTokenId = unkTokenId;
        AddBosToken = addBosToken;
        AddPrefixSpace = addPrefixSpace;
        CleanUpTokenizationSpaces = cleanUpTokenizationSpaces;
    }

    public int? BosTokenId { get; }

    public int UnkTokenId { get; }

    public bool AddBosToken { get; }

    /// <summary>Whether a space is put before the text (<c>add_prefix_space</c>), so its first word reads like a later one.</summary>
    public bool AddPrefixSpace { get; }

    public bool CleanUpTokenizationSpaces { get; }

    /// <summary>Loads <c>vocab.json</c>, <c>merges.txt</c> and the settings of <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c>.</summary>
    /// <exception cref="TokenizerLoadException">A file is missing or malformed.</exception>
    public static ByteLevelBpeTokenizer FromPretrained(string folder)
    {
        if (!Directory.Exists(folder))
            throw new TokenizerLoadException($"Tokenizer folder '{folder}' does not exist.");
        foreach (var required in new[] { VocabularyFileName, MergesFileName })
            if (!File.Exists(Path.Combine(folder, required)))
                throw new TokenizerLoadException(
                    $"Tokenizer folder '{folder}' has no {required}; a byte-level BPE tokenizer needs {VocabularyFileName} and {MergesFileName}.");

        var vocabulary = ReadVocabulary(Path.Combine(folder, VocabularyFileName));
        var merges = ReadMerges(Path.Combine(folder, MergesFileName));
        var config = TokenizerFolder.ReadJson(folder, "tokenizer_config.json");
        var specialMap = TokenizerFolder.ReadJson(folder, "special_tokens_map.json");
        string? Special(string name) =>
            (config is { } c ? TokenizerFolder.TokenContent(c, name) : null) ?? (specialMap is { } m ? TokenizerFolder.TokenContent(m, name) : null);

        var unk = Special("unk_token") ?? "<|endoftext|>";
        var bos = Special("bos_token") ?? "<|endoftext|>";
        var eos = Special("eos_token") ?? "<|endoftext|>";
        var pad = Special("pad_token");
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (config is { } withDecoder && withDecoder.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
            foreach (var entry in decoder.EnumerateObject())
                if (int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && TokenizerFolder.ContentOf(entry.Value) is { } content)
                    added[content] = id;
        var specials = new[] { unk, bos, eos, pad }.OfType<string>().ToArray();
        foreach (var token in specials.Where(t => !added.ContainsKey(t) && vocabulary.ContainsKey(t)))
            added[token] = vocabulary[token];

        int? Id(string token) => added.TryGetValue(token, out var a) ? a : vocabulary.TryGetValue(token, out var v) ? v : null;
        var unkId = Id(unk) ?? throw new TokenizerLoadException($"{Path.Combine(folder, VocabularyFileName)} lacks the unknown token '{unk}'.");
        return new ByteLevelBpeTokenizer(vocabulary, merges, added, specials, Id(bos), unkId,
            Boolean(config, "add_bos_token") ?? false, Boolean(config, "add_prefix_space") ?? false,
            Boolean(config, "clean_up_tokenization_spaces") ?? true);
    }

    /// <summary>The id of a vocabulary or added token, or null.</summary>
    public int? IdOf(string token) =>
        addedTokens.TryGetValue(token, out var added) ? added : vocabulary.TryGetValue(token, out var id) ? id : null;

    /// <summary>The BPE tokens of <paramref name="text"/> (transformers' <c>tokenize</c>), added tokens kept whole.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (AddPrefixSpace) text = " " + text;
        var tokens = new List<string>();
        var start = 0;
        while (FindAddedToken(text, start, out var at, out var token))
        {
            TokenizeSegment(text[start..at], tokens);
            tokens.Add(token);
            start = at + token.Length;
        }
        TokenizeSegment(text[start..], tokens);
        return tokens;
    }

    /// <summary>The ids of <paramref name="text"/>, after the bos id when <c>add_bos_token</c> is set.</summary>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        var ids = Tokenize(text).Select(t => IdOf(t) ?? UnkTokenId);
        return (addSpecialTokens && AddBosToken && BosTokenId is int bos ? ids.Prepend(bos) : ids).ToArray();
    }

    /// <summary>
    /// Text of <paramref name="ids"/> as transformers' <c>decode</c> gives it: tokens joined, characters mapped back to
    /// bytes, UTF-8 decoded with U+FFFD for invalid sequences, then (per <c>clean_up_tokenization_spaces</c>) the space
    /// before punctuation and contractions removed.
    /// </summary>
    public string Decode(IEnumerable<long> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (skipSpecialTokens && specialIds.Contains((int)id)) continue;
            var token = tokenById.TryGetValue((int)id, out var known) ? known : tokenById[UnkTokenId];
            foreach (var c in token)
            {
                if (CharToByte.TryGetValue(c, out var b)) bytes.Add(b);
                else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
        var text = Encoding.UTF8.GetString(bytes.ToArray());
        return CleanUpTokenizationSpaces ? BertTokenizer.CleanUpSpaces(text) : text;
    }

    private bool FindAddedToken(string text, int from, out int at, out string token)
    {
        for (at = from; at < text.Length; at++)
            foreach (var candidate in addedLongestFirst)
                if (string.CompareOrdinal(text, at, candidate, 0, candidate.Length) == 0)
                {
                    token = candidate;
                    return true;
                }
        token = "";
        return false;
    }

    private void TokenizeSegment(string segment, List<string> tokens)
    {
        foreach (var word in Gpt2PreTokenizer.Split(segment))
        {
            var mapped = new StringBuilder();
            foreach (var b in Encoding.UTF8.GetBytes(word)) mapped.Append(ByteToChar[b]);
            tokens.AddRange(Bpe(mapped.ToString()));
        }
    }

    private string[] Bpe(string word)
    {
        lock (cacheLock)
            if (cache.TryGetValue(word, out var known)) return known;
        var parts = word.Select(c => c.ToString()).ToList();
        while (parts.Count > 1)
        {
            var best = -1;
            var bestRank = int.MaxValue;
            for (var i = 0; i < parts.Count - 1; i++)
                if (mergeRanks.TryGetValue((parts[i], parts[i + 1]), out var rank) && rank < bestRank)
                    (best, bestRank) = (i, rank);
            if (best < 0) break;
            var (first, second) = (parts[best], parts[best + 1]);
            // Merge every occurrence of the pair, left to right, as GPT-2's bpe() does.
            var merged = new List<string>(parts.Count);
            for (var i = 0; i < parts.Count; i++)
            {
                if (i < parts.Count - 1 && parts[i] == first && parts[i + 1] == second)
                {
                    merged.Add(first + second);
                    i++;
                }
                else
                    merged.Add(parts[i]);
            }
            parts = merged;
        }
        var result = parts.ToArray();
        lock (cacheLock) cache[word] = result;
        return result;
    }

    /// <summary>GPT-2's reversible map from bytes to printable characters (<c>bytes_to_unicode</c>).</summary>
    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1))
            .Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var next = 0;
        for (var b = 0; b < 256; b++)
            map[b] = printable.Contains(b) ? (char)b : (char)(256 + next++);
        return map;
    }

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<Dictionary<string, int>>(stream)
                   ?? throw new TokenizerLoadException($"{path} holds null instead of a vocabulary.");
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new TokenizerLoadException($"Cannot read {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Merge pairs by rank. As transformers reads the file, its first line (the <c>#version</c> header) and the last
    /// element after the final newline are skipped.
    /// </summary>
    private static Dictionary<(string, string), int> ReadMerges(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllText(path, new UTF8Encoding(false, throwOnInvalidBytes: true)).Split('\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new TokenizerLoadException($"Cannot read {path}: {e.Message}", e);
        }
        var ranks = new Dictionary<(string, string), int>();
        var rank = 0;
        foreach (var line in lines.Skip(1).Take(Math.Max(0, lines.Length - 2)))
        {
            var pair = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (pair.Length != 2)
                throw new TokenizerLoadException($"{path}: merge line '{line}' does not hold two tokens.");
            ranks.TryAdd((pair[0], pair[1]), rank);
            rank++;
        }
        return ranks;
    }

    private static bool? Boolean(JsonElement? json, string name) => json is { } j ? TokenizerFolder.Boolean(j, name) : null;
}

/// <summary>
/// GPT-2's pre-tokenization pattern <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>,
/// matched over code points (Python's <c>regex</c> classifies astral letters as letters; .NET's Regex sees surrogates).
/// </summary>
internal static class Gpt2PreTokenizer
{
    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    private enum Kind { Letter, Number, Space, Other }

    public static IEnumerable<string> Split(string text)
    {
        var runes = text.EnumerateRunes().ToArray();
        var offsets = new int[runes.Length + 1];
        for (var i = 0; i < runes.Length; i++) offsets[i + 1] = offsets[i] + runes[i].Utf16SequenceLength;
        var position = 0;
        while (position < runes.Length)
        {
            var end = Match(text, runes, offsets, position);
            yield return text[offsets[position]..offsets[end]];
            position = end;
        }
    }

    private static int Match(string text, Rune[] runes, int[] offsets, int start)
    {
        foreach (var contraction in Contractions)
            if (string.CompareOrdinal(text, offsets[start], contraction, 0, contraction.Length) == 0
                && offsets[start] + contraction.Length <= text.Length)
                return start + contraction.Length;

        // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional single space, then a run of one class.
        var body = runes[start].Value == ' ' && start + 1 < runes.Length && KindOf(runes[start + 1]) != Kind.Space ? start + 1 : start;
        var kind = KindOf(runes[body]);
        if (kind != Kind.Space)
        {
            var end = body;
            while (end < runes.Length && KindOf(runes[end]) == kind) end++;
            return end;
        }

        // "\s+(?!\S)" takes a whitespace run but leaves its last character when a non-space follows; "\s+" otherwise.
        var stop = start;
        while (stop < runes.Length && KindOf(runes[stop]) == Kind.Space) stop++;
        if (stop < runes.Length && stop - start > 1) return stop - 1;
        return stop;
    }

    private static Kind KindOf(Rune rune)
    {
        if (Rune.IsWhiteSpace(rune)) return Kind.Space;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Number,
            _ => Kind.Other,
        };
    }
}
