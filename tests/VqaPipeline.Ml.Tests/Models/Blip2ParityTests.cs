using System.Text.Json;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Generation;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Models.Blip2;
using VqaPipeline.Ml.Tokenization;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Models;

/// <summary>
/// Blip2ForConditionalGeneration with OPT against Python's outputs for every case of
/// blip2-opt-tiny/expected/manifest.json and every weight file: pixels, BPE ids, vision and Q-Former states, the
/// full-prompt logits, greedy and beam-search ids and text, and the right-padded batch.
/// </summary>
public class Blip2ParityTests
{
    private static JsonElement Manifest => Fixtures.Manifest("blip2-opt-tiny", "expected", "manifest.json");

    private static string ModelFolder => Fixtures.PathOf("blip2-opt-tiny");

    public static IEnumerable<object[]> CasesAndWeights() => GenerativeFixture.CasesAndWeights(Manifest, ModelFolder);

    public static IEnumerable<object[]> WeightFiles() =>
        CheckpointReader.WeightFileNames.Where(name => File.Exists(Path.Combine(ModelFolder, name))).Select(name => new object[] { name });

    public static IEnumerable<object[]> TokenizationCases() =>
        Manifest.GetProperty("tokenization").EnumerateArray().Select((_, index) => new object[] { index });

    [Theory]
    [MemberData(nameof(TokenizationCases))]
    public void Prompt_tokens_and_ids_match_python(int index)
    {
        var entry = Manifest.GetProperty("tokenization")[index];
        var tokenizer = ByteLevelBpeTokenizer.FromPretrained(ModelFolder);
        var text = entry.GetProperty("text").GetString()!;

        Assert.Equal(entry.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()), tokenizer.Tokenize(text));
        Assert.Equal(GenerativeFixture.Longs(entry.GetProperty("input_ids")), tokenizer.Encode(text).Select(i => (long)i).ToArray());
    }

    [Theory]
    [MemberData(nameof(CasesAndWeights))]
    public void Outputs_and_generated_answers_match_python(string caseName, string weightsFile)
    {
        var testCase = GenerativeFixture.Case(Manifest, caseName);
        using var model = LoadModel(weightsFile);
        using var expected = Safetensors.Read(Fixtures.PathOf("blip2-opt-tiny", "expected", testCase.GetProperty("file").GetString()!));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();

        var pixels = GenerativeFixture.AssertPixelsMatch(ModelFolder, testCase, expected);
        var tokenizer = ByteLevelBpeTokenizer.FromPretrained(ModelFolder);
        var ids = tokenizer.Encode(testCase.GetProperty("prompt").GetString()!).Select(i => (long)i).ToArray();
        Assert.Equal(GenerativeFixture.Longs(testCase.GetProperty("input_ids")), ids);
        var inputIds = tensor(ids).unsqueeze(0);
        var mask = ones_like(inputIds);

        var imageEmbeds = model.EncodeImage(pixels);
        GenerativeFixture.AssertClose(expected["vision_last_hidden_state"].ToTorch(), imageEmbeds, "vision_last_hidden_state");
        var queries = model.QueryImage(imageEmbeds);
        GenerativeFixture.AssertClose(expected["qformer_last_hidden_state"].ToTorch(), queries, "qformer_last_hidden_state");
        GenerativeFixture.AssertClose(expected["lm_logits"].ToTorch(), model.Logits(pixels, inputIds, mask), "lm_logits");

        var languageInputs = model.ProjectQueries(queries);
        using (var decoder = model.StartPrompt(languageInputs, inputIds, mask))
            Assert.Equal(testCase.GetProperty("last_position_argmax").GetInt64(), decoder.NextTokenLogits(null).argmax(-1).item<long>());

        foreach (var (beams, idsKey, textKey) in new[] { (1, "greedy_ids", "greedy_text"), (3, "beam3_ids", "beam3_text") })
        {
            var want = GenerativeFixture.Longs(testCase.GetProperty(idsKey));
            using var decoder = model.StartPrompt(languageInputs, inputIds, mask);
            // The fixture generated with max_new_tokens = its length less the prepended bos.
            var generated = SequenceGenerator.Generate(decoder, model.GenerationSettings(ids.Length, maxNewTokens: want.Length - 1, numBeams: beams))[0];
            Assert.Equal(want, generated.Ids);
            Assert.Equal(testCase.GetProperty(textKey).GetString(), tokenizer.Decode(generated.Ids, skipSpecialTokens: true));
        }
    }

    [Theory]
    [MemberData(nameof(WeightFiles))]
    public void Right_padded_batch_logits_match_python(string weightsFile)
    {
        var batch = Manifest.GetProperty("batch2");
        using var model = LoadModel(weightsFile);
        using var expected = Safetensors.Read(Fixtures.PathOf("blip2-opt-tiny", "expected", batch.GetProperty("file").GetString()!));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var tokenizer = ByteLevelBpeTokenizer.FromPretrained(ModelFolder);
        var padId = (long)tokenizer.IdOf("<pad>")!.Value;

        var prompts = batch.GetProperty("prompts").EnumerateArray().Select(p => tokenizer.Encode(p.GetString()!)).ToArray();
        var length = prompts.Max(p => p.Length);
        var ids = prompts.SelectMany(p => p.Select(i => (long)i).Concat(Enumerable.Repeat(padId, length - p.Length))).ToArray();
        var mask = prompts.SelectMany(p => Enumerable.Repeat(1L, p.Length).Concat(Enumerable.Repeat(0L, length - p.Length))).ToArray();
        var loader = new ImageLoader();
        var images = BlipImageProcessor.FromPretrained(ModelFolder)
            .Preprocess(batch.GetProperty("images").EnumerateArray().Select(i => loader.LoadFile(Fixtures.PathOf(i.GetString()!))).ToArray());
        var pixels = tensor(images.PixelValues, [images.BatchSize, 3, images.Height, images.Width]);

        var logits = model.Logits(pixels, tensor(ids, [prompts.Length, length]), tensor(mask, [prompts.Length, length]));

        Assert.Equal(expected["input_ids"].ToTorch().data<long>().ToArray(), ids);
        Assert.Equal(expected["attention_mask"].ToTorch().data<long>().ToArray(), mask);
        GenerativeFixture.AssertClose(expected["lm_logits"].ToTorch(), logits, "batch2 logits");
    }

    internal static Blip2ForConditionalGeneration LoadModel(string weightsFile)
    {
        var model = new Blip2ForConditionalGeneration(ModelConfig.Load<Blip2Config>(ModelFolder));
        using (var weights = CheckpointReader.ReadFile(Path.Combine(ModelFolder, weightsFile)))
        {
            var report = ModuleWeights.Load(model, weights, Blip2ForConditionalGeneration.LoadOptions);
            Assert.True(report.IsComplete, report.Describe(nameof(Blip2ForConditionalGeneration), weightsFile));
        }
        model.eval();
        return model;
    }
}
