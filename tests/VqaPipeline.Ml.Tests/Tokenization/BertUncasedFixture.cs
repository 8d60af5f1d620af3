using System.Text.Json;
using System.Text.RegularExpressions;
using VqaPipeline.Ml.Tokenization;

namespace VqaPipeline.Ml.Tests.Tokenization;

/// <summary>
/// The <c>tokenization/</c> fixture: every case of its jsonl, the tokenizer its manifest names and the padded call's
/// parameters, all read from the manifest and the data.
/// </summary>
public static partial class BertUncasedFixture
{
    private static readonly Lazy<Loaded> Data = new(Load);

    public static BertTokenizer Tokenizer => Data.Value.Tokenizer;
    public static string VocabPath => Data.Value.VocabPath;
    public static IReadOnlyDictionary<int, BertCase> Cases => Data.Value.Cases;

    /// <summary>max_length of the padded call (the manifest's <c>padded_max40</c> call).</summary>
    public static int PaddedMaxLength => Data.Value.PaddedMaxLength;

    public static TheoryData<int> CaseIds()
    {
        var ids = new TheoryData<int>();
        foreach (var id in Cases.Keys.Order()) ids.Add(id);
        return ids;
    }

    private static Loaded Load()
    {
        var manifest = Fixtures.Manifest("tokenization", "manifest.json");
        var tokenizerCall = manifest.GetProperty("tokenizer").GetString()!;
        var vocabFile = VocabFilePattern().Match(tokenizerCall);
        Assert.True(vocabFile.Success, $"no vocab_file in the manifest's tokenizer call: {tokenizerCall}");
        Assert.Contains("do_lower_case=True", tokenizerCall);
        var vocabPath = Fixtures.PathOf(vocabFile.Groups[1].Value.Split('/'));
        var tokenizer = BertTokenizer.FromVocabFile(vocabPath);

        var paddedCall = manifest.GetProperty("calls").GetProperty(PaddedKey).GetString()!;
        Assert.Contains("padding='max_length'", paddedCall);
        Assert.Contains("truncation=True", paddedCall);
        var maxLength = int.Parse(MaxLengthPattern().Match(paddedCall).Groups[1].Value);

        var lines = File.ReadAllLines(Fixtures.PathOf("tokenization", manifest.GetProperty("file").GetString()!))
            .Where(line => line.Length > 0).ToArray();
        Assert.Equal(manifest.GetProperty("count").GetInt32(), lines.Length);
        var cases = lines.Select(ParseCase).ToDictionary(c => c.Id);
        Assert.All(cases.Values, c => Assert.Equal(maxLength, c.Padded.InputIds.Length));
        return new Loaded(tokenizer, vocabPath, cases, maxLength);
    }

    private const string PaddedKey = "padded_max40";

    private static BertCase ParseCase(string line)
    {
        var json = JsonDocument.Parse(line).RootElement;
        return new BertCase(
            json.GetProperty("id").GetInt32(),
            json.GetProperty("text").GetString()!,
            json.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray(),
            ParseEncoding(json.GetProperty(PaddedKey)),
            ParseEncoding(json.GetProperty("unpadded")),
            json.GetProperty("decoded_unpadded_skip_special").GetString()!);
    }

    private static ExpectedEncoding ParseEncoding(JsonElement json) => new(
        Ints(json.GetProperty("input_ids")), Ints(json.GetProperty("token_type_ids")), Ints(json.GetProperty("attention_mask")));

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    [GeneratedRegex("vocab_file='([^']+)'")]
    private static partial Regex VocabFilePattern();

    [GeneratedRegex(@"max_length=(\d+)")]
    private static partial Regex MaxLengthPattern();

    private sealed record Loaded(BertTokenizer Tokenizer, string VocabPath, Dictionary<int, BertCase> Cases, int PaddedMaxLength);
}

public sealed record ExpectedEncoding(int[] InputIds, int[] TokenTypeIds, int[] AttentionMask);

public sealed record BertCase(int Id, string Text, string[] Tokens, ExpectedEncoding Padded, ExpectedEncoding Unpadded,
    string DecodedSkippingSpecial);
