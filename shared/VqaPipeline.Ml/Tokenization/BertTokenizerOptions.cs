namespace VqaPipeline.Ml.Tokenization;

/// <summary>
/// How a <see cref="BertTokenizer"/> behaves; the defaults are those of transformers' <c>BertTokenizer</c>.
/// <see cref="BertTokenizer.FromPretrained"/> fills it from <c>tokenizer_config.json</c> and
/// <c>special_tokens_map.json</c>.
/// </summary>
public sealed record BertTokenizerOptions
{
    public bool DoLowerCase { get; init; } = true;

    /// <summary>Surround CJK ideographs with spaces so each becomes its own word.</summary>
    public bool TokenizeChineseChars { get; init; } = true;

    /// <summary>Remove combining marks after NFD; <c>null</c> follows <see cref="DoLowerCase"/>, as in BERT.</summary>
    public bool? StripAccents { get; init; }

    /// <summary>Words kept whole: not lowercased again, not split on punctuation, not split into word pieces.</summary>
    public IReadOnlyList<string> NeverSplit { get; init; } = [];

    /// <summary>The default for truncation and padding to a maximum length; <c>null</c> when the model sets none.</summary>
    public int? ModelMaxLength { get; init; }

    /// <summary>Whether <see cref="BertTokenizer.Decode"/> removes the space before punctuation and contractions.</summary>
    public bool CleanUpTokenizationSpaces { get; init; } = true;

    public string UnkToken { get; init; } = "[UNK]";
    public string SepToken { get; init; } = "[SEP]";
    public string PadToken { get; init; } = "[PAD]";
    public string ClsToken { get; init; } = "[CLS]";
    public string MaskToken { get; init; } = "[MASK]";
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public IReadOnlyList<string> AdditionalSpecialTokens { get; init; } = [];

    /// <summary>Tokens matched in the text before any other processing and kept whole (e.g. BLIP's [DEC], [ENC]).</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = [];

    /// <summary>transformers' <c>all_special_tokens</c>: the named special tokens, then the additional ones.</summary>
    internal IReadOnlySet<string> AllSpecialTokens()
    {
        string?[] named = [BosToken, EosToken, UnkToken, SepToken, PadToken, ClsToken, MaskToken];
        return named.OfType<string>().Concat(AdditionalSpecialTokens).ToHashSet(StringComparer.Ordinal);
    }
}

/// <summary>
/// A token added on top of <c>vocab.txt</c> (an entry of <c>added_tokens_decoder</c>). A non-special, normalized added
/// token is protected from lowercasing like the special tokens are.
/// </summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool Normalized);
