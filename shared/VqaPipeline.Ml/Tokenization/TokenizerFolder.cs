using System.Text.Json;

namespace VqaPipeline.Ml.Tokenization;

/// <summary>
/// Reads a Hugging Face tokenizer folder's JSON files into <see cref="BertTokenizerOptions"/>, following
/// transformers 4.40's <c>from_pretrained</c>: <c>tokenizer_config.json</c> gives the settings; when it lists
/// <c>added_tokens_decoder</c>, that is the whole truth, otherwise <c>special_tokens_map.json</c> overrides the
/// special tokens and <c>added_tokens.json</c> supplies the added ones.
/// </summary>
internal static class TokenizerFolder
{
    private const string ConfigFileName = "tokenizer_config.json";
    private const string SpecialTokensFileName = "special_tokens_map.json";
    private const string AddedTokensFileName = "added_tokens.json";

    public static BertTokenizerOptions ReadOptions(string folder)
    {
        var config = ReadJson(folder, ConfigFileName);
        var options = new BertTokenizerOptions();
        if (config is { } c)
        {
            foreach (var unsupported in new[] { "do_basic_tokenize", "do_split_on_punc" })
                if (Boolean(c, unsupported) == false)
                    throw Invalid(folder, ConfigFileName, $"{unsupported}=false is not supported by this tokenizer");
            options = ApplySpecialTokens(options with
            {
                DoLowerCase = Boolean(c, "do_lower_case") ?? options.DoLowerCase,
                TokenizeChineseChars = Boolean(c, "tokenize_chinese_chars") ?? options.TokenizeChineseChars,
                StripAccents = Boolean(c, "strip_accents"),
                NeverSplit = StringList(c, "never_split") ?? options.NeverSplit,
                ModelMaxLength = ModelMaxLength(c),
                CleanUpTokenizationSpaces = Boolean(c, "clean_up_tokenization_spaces") ?? options.CleanUpTokenizationSpaces,
            }, c);
        }

        if (config is { } withDecoder && withDecoder.TryGetProperty("added_tokens_decoder", out var decoder))
            return options with { AddedTokens = ReadAddedTokensDecoder(folder, decoder) };

        if (ReadJson(folder, SpecialTokensFileName) is { } specialTokensMap)
            options = ApplySpecialTokens(options, specialTokensMap);
        return ReadJson(folder, AddedTokensFileName) is { } addedTokens
            ? options with { AddedTokens = ReadLegacyAddedTokens(folder, addedTokens, options) }
            : options;
    }

    private static BertTokenizerOptions ApplySpecialTokens(BertTokenizerOptions options, JsonElement json) => options with
    {
        UnkToken = TokenContent(json, "unk_token") ?? options.UnkToken,
        SepToken = TokenContent(json, "sep_token") ?? options.SepToken,
        PadToken = TokenContent(json, "pad_token") ?? options.PadToken,
        ClsToken = TokenContent(json, "cls_token") ?? options.ClsToken,
        MaskToken = TokenContent(json, "mask_token") ?? options.MaskToken,
        BosToken = TokenContent(json, "bos_token") ?? options.BosToken,
        EosToken = TokenContent(json, "eos_token") ?? options.EosToken,
        AdditionalSpecialTokens = json.TryGetProperty("additional_special_tokens", out var additional)
                                  && additional.ValueKind == JsonValueKind.Array
            ? additional.EnumerateArray().Select(ContentOf).OfType<string>().ToArray()
            : options.AdditionalSpecialTokens,
    };

    private static AddedToken[] ReadAddedTokensDecoder(string folder, JsonElement decoder)
    {
        var tokens = new List<AddedToken>();
        foreach (var entry in decoder.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, out var id) || ContentOf(entry.Value) is not { } content)
                throw Invalid(folder, ConfigFileName, $"added_tokens_decoder entry '{entry.Name}' has no integer id or no content");
            if (Boolean(entry.Value, "single_word") == true)
                throw Invalid(folder, ConfigFileName, $"added token '{content}' is single_word, which this tokenizer does not support");
            // lstrip/rstrip only trim whitespace next to the token, which BERT's pre-tokenizer discards anyway.
            tokens.Add(new AddedToken(id, content, Boolean(entry.Value, "special") ?? false,
                Boolean(entry.Value, "normalized") ?? true));
        }
        return tokens.ToArray();
    }

    private static AddedToken[] ReadLegacyAddedTokens(string folder, JsonElement addedTokens, BertTokenizerOptions options)
    {
        var special = options.AllSpecialTokens();
        return addedTokens.EnumerateObject().Select(entry =>
        {
            if (!entry.Value.TryGetInt32(out var id))
                throw Invalid(folder, AddedTokensFileName, $"'{entry.Name}' has no integer id");
            var isSpecial = special.Contains(entry.Name);
            return new AddedToken(id, entry.Name, isSpecial, Normalized: !isSpecial);
        }).ToArray();
    }

    /// <summary>transformers saves "no limit" as int(1e30); anything beyond an int is treated as no limit.</summary>
    private static int? ModelMaxLength(JsonElement config) =>
        config.TryGetProperty("model_max_length", out var value) && value.ValueKind == JsonValueKind.Number
        && value.TryGetInt32(out var length) && length > 0
            ? length
            : null;

    internal static string? TokenContent(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) ? ContentOf(value) : null;

    /// <summary>A special token is saved either as its string or as an AddedToken object with a "content".</summary>
    internal static string? ContentOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Object when value.TryGetProperty("content", out var content)
                                  && content.ValueKind == JsonValueKind.String => content.GetString(),
        _ => null,
    };

    internal static bool? Boolean(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : null;

    private static string[]? StringList(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToArray()
            : null;

    internal static JsonElement? ReadJson(string folder, string fileName)
    {
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var stream = File.OpenRead(path);
            using var document = JsonDocument.Parse(stream);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Invalid(folder, fileName, "the top level is not a JSON object");
            return document.RootElement.Clone();
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new TokenizerLoadException($"Cannot read {path}: {e.Message}", e);
        }
    }

    private static TokenizerLoadException Invalid(string folder, string fileName, string problem) =>
        new($"{Path.Combine(folder, fileName)} is not a valid tokenizer file: {problem}.");
}
