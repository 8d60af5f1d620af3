using VqaPipeline.Ml.Tokenization;

namespace VqaPipeline.Ml.Tests.Tokenization;

/// <summary>Every case of the fixture, against Python transformers 4.40.2's slow BertTokenizer (bert-base-uncased).</summary>
public class BertTokenizerFixtureTests
{
    public static TheoryData<int> CaseIds() => BertUncasedFixture.CaseIds();

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Tokens_match_transformers(int caseId)
    {
        var expected = BertUncasedFixture.Cases[caseId];

        Assert.Equal(expected.Tokens, BertUncasedFixture.Tokenizer.Tokenize(expected.Text));
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Padded_truncated_encoding_matches_transformers(int caseId)
    {
        var expected = BertUncasedFixture.Cases[caseId];

        var encoded = BertUncasedFixture.Tokenizer.Encode(expected.Text, BertUncasedFixture.PaddedMaxLength,
            padToMaxLength: true, truncate: true);

        AssertEncoding(expected.Padded, encoded);
        Assert.Equal(expected.Unpadded.InputIds.Length > BertUncasedFixture.PaddedMaxLength, encoded.Truncated);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Unpadded_encoding_matches_transformers(int caseId)
    {
        var expected = BertUncasedFixture.Cases[caseId];

        var encoded = BertUncasedFixture.Tokenizer.Encode(expected.Text);

        AssertEncoding(expected.Unpadded, encoded);
        Assert.False(encoded.Truncated);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Decoding_without_special_tokens_matches_transformers(int caseId)
    {
        var expected = BertUncasedFixture.Cases[caseId];

        var decoded = BertUncasedFixture.Tokenizer.Decode(expected.Unpadded.InputIds, skipSpecialTokens: true);

        Assert.Equal(expected.DecodedSkippingSpecial, decoded);
    }

    internal static void AssertEncoding(ExpectedEncoding expected, TokenizedText actual)
    {
        Assert.Equal(expected.InputIds, actual.InputIds);
        Assert.Equal(expected.TokenTypeIds, actual.TokenTypeIds);
        Assert.Equal(expected.AttentionMask, actual.AttentionMask);
    }
}
