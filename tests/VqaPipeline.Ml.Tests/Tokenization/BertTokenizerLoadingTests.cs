using System.Text.Json;
using VqaPipeline.Ml.Tokenization;

namespace VqaPipeline.Ml.Tests.Tokenization;

/// <summary>Model folders (tokenizer_config.json, special_tokens_map.json, added tokens) and loading errors.</summary>
public sealed class BertTokenizerLoadingTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("vqa-tokenizer-tests-");

    public void Dispose() => _scratch.Delete(recursive: true);

    [Fact]
    public void Vilt_folder_loads_its_configuration()
    {
        var tokenizer = BertTokenizer.FromPretrained(Fixtures.PathOf("vilt-tiny"));

        Assert.Equal(File.ReadLines(Fixtures.PathOf("vilt-tiny", "vocab.txt")).Count(), tokenizer.VocabSize);
        Assert.True(tokenizer.Options.DoLowerCase);
        Assert.Null(tokenizer.Options.ModelMaxLength); // saved as int(1e30): no limit
        Assert.Equal(tokenizer.IdOf("[PAD]"), tokenizer.PadTokenId);
        Assert.Equal(tokenizer.IdOf("[CLS]"), tokenizer.ClsTokenId);
        Assert.Equal(tokenizer.IdOf("[SEP]"), tokenizer.SepTokenId);
        Assert.Equal(tokenizer.IdOf("[UNK]"), tokenizer.UnkTokenId);
        Assert.Equal(tokenizer.IdOf("[MASK]"), tokenizer.MaskTokenId);
        Assert.Null(tokenizer.BosTokenId);
        Assert.Null(tokenizer.IdOf("no-such-token"));
    }

    [Fact]
    public void Vilt_folder_encodes_the_model_fixture_questions_as_transformers_did()
    {
        var tokenizer = BertTokenizer.FromPretrained(Fixtures.PathOf("vilt-tiny"));
        var cases = Fixtures.Manifest("vilt-tiny", "expected", "manifest.json").GetProperty("cases").EnumerateArray().ToArray();
        Assert.NotEmpty(cases);

        foreach (var @case in cases)
        {
            var question = @case.GetProperty("question").GetString()!;
            var padded = Ints(@case.GetProperty("input_ids"));
            var encoded = tokenizer.Encode(question, padded.Length, padToMaxLength: true, truncate: true);
            Assert.Equal(padded, encoded.InputIds);
            Assert.Equal(Ints(@case.GetProperty("pipeline_input_ids_unpadded")), tokenizer.Encode(question).InputIds);
        }
    }

    [Fact]
    public void Blip_folder_knows_its_added_tokens_and_decodes_generated_answers_as_transformers_did()
    {
        var tokenizer = BertTokenizer.FromPretrained(Fixtures.PathOf("blip-vqa-tiny"));
        var addedTokens = Fixtures.Manifest("blip-vqa-tiny", "added_tokens.json");
        var cases = Fixtures.Manifest("blip-vqa-tiny", "expected", "manifest.json").GetProperty("cases").EnumerateArray().ToArray();
        Assert.NotEmpty(cases);

        Assert.Equal(addedTokens.GetProperty("[DEC]").GetInt32(), tokenizer.BosTokenId);
        Assert.Equal(addedTokens.GetProperty("[ENC]").GetInt32(), tokenizer.IdOf("[ENC]"));
        Assert.Equal(["[ENC]", "what", "[DEC]", "?"], tokenizer.Tokenize("[ENC] What[DEC]?"));
        foreach (var @case in cases)
        {
            Assert.Equal(Ints(@case.GetProperty("input_ids")),
                tokenizer.Encode(@case.GetProperty("question").GetString()!).InputIds);
            foreach (var generated in new[] { "greedy", "beam3" })
                Assert.Equal(@case.GetProperty($"{generated}_text").GetString(),
                    tokenizer.Decode(Ints(@case.GetProperty($"{generated}_ids")), skipSpecialTokens: true));
        }
    }

    [Fact]
    public void Missing_vocabulary_file_is_a_load_error_naming_the_path()
    {
        var path = Path.Combine(_scratch.FullName, "vocab.txt");

        var error = Assert.Throws<TokenizerLoadException>(() => BertTokenizer.FromVocabFile(path));

        Assert.Contains(path, error.Message);
        Assert.IsAssignableFrom<VqaPipelineException>(error);
    }

    [Fact]
    public void Folder_without_vocab_txt_is_a_load_error()
    {
        File.WriteAllText(Path.Combine(_scratch.FullName, "tokenizer_config.json"), "{}");

        var error = Assert.Throws<TokenizerLoadException>(() => BertTokenizer.FromPretrained(_scratch.FullName));

        Assert.Contains("vocab.txt", error.Message);
    }

    [Fact]
    public void Missing_folder_is_a_load_error()
    {
        var folder = Path.Combine(_scratch.FullName, "absent");

        var error = Assert.Throws<TokenizerLoadException>(() => BertTokenizer.FromPretrained(folder));

        Assert.Contains(folder, error.Message);
    }

    [Fact]
    public void Broken_tokenizer_config_is_a_load_error()
    {
        File.Copy(Fixtures.PathOf("vilt-tiny", "vocab.txt"), Path.Combine(_scratch.FullName, "vocab.txt"));
        File.WriteAllText(Path.Combine(_scratch.FullName, "tokenizer_config.json"), "{ \"do_lower_case\": ");

        var error = Assert.Throws<TokenizerLoadException>(() => BertTokenizer.FromPretrained(_scratch.FullName));

        Assert.Contains("tokenizer_config.json", error.Message);
    }

    [Fact]
    public void Vocabulary_without_a_special_token_is_a_load_error()
    {
        var path = Path.Combine(_scratch.FullName, "vocab.txt");
        File.WriteAllLines(path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"]);

        var error = Assert.Throws<TokenizerLoadException>(() => BertTokenizer.FromVocabFile(path));

        Assert.Contains("[MASK]", error.Message);
    }

    [Fact]
    public void Vocabulary_that_is_not_utf8_is_a_load_error()
    {
        var path = Path.Combine(_scratch.FullName, "vocab.txt");
        File.WriteAllBytes(path, [(byte)'[', (byte)'P', 0xFF, (byte)'\n']);

        var error = Assert.Throws<TokenizerLoadException>(() => BertTokenizer.FromVocabFile(path));

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Special_tokens_map_overrides_the_config_when_there_is_no_added_tokens_decoder()
    {
        File.WriteAllLines(Path.Combine(_scratch.FullName, "vocab.txt"), ["<pad>", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]);
        File.WriteAllText(Path.Combine(_scratch.FullName, "tokenizer_config.json"),
            JsonSerializer.Serialize(new { pad_token = "[PAD]", model_max_length = 8 }));
        File.WriteAllText(Path.Combine(_scratch.FullName, "special_tokens_map.json"),
            JsonSerializer.Serialize(new { pad_token = new { content = "<pad>", lstrip = false } }));

        var tokenizer = BertTokenizer.FromPretrained(_scratch.FullName);

        Assert.Equal(0, tokenizer.PadTokenId);
        Assert.Equal(8, tokenizer.Options.ModelMaxLength);
        Assert.Equal([2, 5, 3, 0, 0, 0, 0, 0], tokenizer.Encode("hi", padToMaxLength: true).InputIds);
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(v => v.GetInt32()).ToArray();
}
