using VqaPipeline.Ml.Tokenization;

namespace VqaPipeline.Ml.Tests.Tokenization;

/// <summary>Batching, length limits and text the fixture does not cover.</summary>
public class BertTokenizerEncodingTests
{
    private static BertTokenizer Tokenizer => BertUncasedFixture.Tokenizer;

    [Fact]
    public void Batch_pads_every_row_to_the_longest_sequence()
    {
        var cases = BertUncasedFixture.Cases.Values.OrderBy(c => c.Id).ToArray();
        var longest = cases.Max(c => c.Unpadded.InputIds.Length);

        var batch = Tokenizer.EncodeBatch(cases.Select(c => c.Text).ToArray());

        Assert.Equal(cases.Length, batch.Count);
        foreach (var (expected, row) in cases.Zip(batch))
        {
            var realLength = expected.Unpadded.InputIds.Length;
            Assert.Equal(longest, row.Length);
            Assert.Equal(expected.Unpadded.InputIds, row.InputIds[..realLength]);
            Assert.All(row.InputIds[realLength..], id => Assert.Equal(Tokenizer.PadTokenId, id));
            Assert.Equal(Enumerable.Repeat(1, realLength).Concat(Enumerable.Repeat(0, longest - realLength)), row.AttentionMask);
            Assert.All(row.TokenTypeIds, type => Assert.Equal(0, type));
        }
    }

    [Fact]
    public void Batch_padded_and_truncated_to_max_length_matches_the_single_encodings()
    {
        var cases = BertUncasedFixture.Cases.Values.OrderBy(c => c.Id).ToArray();

        var batch = Tokenizer.EncodeBatch(cases.Select(c => c.Text).ToArray(), BertUncasedFixture.PaddedMaxLength,
            padToMaxLength: true, truncate: true);

        foreach (var (expected, row) in cases.Zip(batch))
            BertTokenizerFixtureTests.AssertEncoding(expected.Padded, row);
    }

    [Fact]
    public void Batch_of_short_texts_is_only_as_long_as_its_longest_row()
    {
        var batch = Tokenizer.EncodeBatch(["a", "how many cats?"]);

        Assert.All(batch, row => Assert.Equal(6, row.Length));
        Assert.Equal([1, 1, 1, 0, 0, 0], batch[0].AttentionMask);
        Assert.Empty(Tokenizer.EncodeBatch([]));
    }

    [Fact]
    public void Padding_to_max_length_needs_a_length_when_the_model_sets_none()
    {
        Assert.Null(Tokenizer.Options.ModelMaxLength);

        Assert.Throws<ArgumentException>(() => Tokenizer.Encode("a", padToMaxLength: true));
    }

    [Fact]
    public void Truncating_below_room_for_one_piece_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Encode("a b", maxLength: 2, truncate: true));
        Assert.Equal([Tokenizer.ClsTokenId, Tokenizer.SepTokenId], Tokenizer.Encode("", maxLength: 2, truncate: true).InputIds);
    }

    [Fact]
    public void Decoding_keeps_special_tokens_unless_asked_and_maps_unknown_ids_to_unk()
    {
        var ids = Tokenizer.Encode("Isn't it red?").InputIds;

        Assert.Equal("[CLS] isn't it red? [SEP]", Tokenizer.Decode(ids));
        Assert.Equal("[UNK]", Tokenizer.Decode([Tokenizer.VocabSize + 5]));
    }

    [Fact]
    public void Words_longer_than_100_code_points_become_unknown()
    {
        Assert.NotEqual(["[UNK]"], Tokenizer.Tokenize(new string('a', 100)));
        Assert.Equal(["[UNK]"], Tokenizer.Tokenize(new string('a', 101)));
    }

    // Python 3.11 (Unicode 14) does not know U+1FAE8 (Unicode 15): it is unassigned there and cleaned away, while
    // U+1FAE0 (Unicode 14) is a symbol and becomes [UNK].
    [Fact]
    public void Characters_newer_than_the_reference_unicode_are_dropped_like_python_does()
    {
        Assert.Equal(["shaking", "face"], Tokenizer.Tokenize("shaking \U0001FAE8 face"));
        Assert.Equal(["melting", "[UNK]", "face"], Tokenizer.Tokenize("melting \U0001FAE0 face"));
    }

    // Python lowercases U+0130 to "i" + U+0307 (full case mapping); the combining dot is then stripped as an accent.
    [Fact]
    public void Capital_i_with_dot_lowercases_like_python()
    {
        Assert.Equal(["istanbul"], Tokenizer.Tokenize("\u0130stanbul"));
    }

    [Fact]
    public void Unpaired_surrogates_and_noncharacters_are_cleaned_away()
    {
        Assert.Equal(["ab"], Tokenizer.Tokenize("a\uD800b"));
        Assert.Equal(["ab"], Tokenizer.Tokenize("a\uFFFEb"));
    }

    [Fact]
    public void Lowercase_special_token_text_is_not_a_special_token()
    {
        Assert.DoesNotContain("[CLS]", Tokenizer.Tokenize("[cls] hi"));
        Assert.Equal(["[CLS]", "hi"], Tokenizer.Tokenize("[CLS]hi"));
    }

    [Fact]
    public void Never_split_words_stay_whole_even_when_they_appear_only_after_accent_stripping()
    {
        var tokenizer = BertTokenizer.FromVocabFile(BertUncasedFixture.VocabPath, new BertTokenizerOptions { NeverSplit = ["e-mail", "naivete"] });

        // "E-mail" was lowercased before the never-split check; "naivete" is not in the vocabulary, yet stays whole.
        Assert.Equal(["e-mail", "and", "naivete", "e-mail"], tokenizer.Tokenize("e-mail and Naïveté E-mail"));
        Assert.Equal(["e", "-", "mail", "naive", "##te"], BertUncasedFixture.Tokenizer.Tokenize("e-mail naivete"));
    }
}
