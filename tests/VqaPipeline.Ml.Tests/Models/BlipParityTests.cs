using System.Text.Json;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Generation;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Tokenization;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Models;

/// <summary>
/// BlipForQuestionAnswering against Python's outputs for every case of blip-vqa-tiny/expected/manifest.json, from
/// every weight file the model folder has: pixels, ids, image and question states, first-step logits, greedy and
/// beam-search ids and their decoded text.
/// </summary>
public class BlipParityTests
{
    private static JsonElement Manifest => Fixtures.Manifest("blip-vqa-tiny", "expected", "manifest.json");

    private static string ModelFolder => Fixtures.PathOf("blip-vqa-tiny");

    public static IEnumerable<object[]> CasesAndWeights() => GenerativeFixture.CasesAndWeights(Manifest, ModelFolder);

    [Theory]
    [MemberData(nameof(CasesAndWeights))]
    public void Outputs_and_generated_answers_match_python(string caseName, string weightsFile)
    {
        var testCase = GenerativeFixture.Case(Manifest, caseName);
        using var model = LoadModel(weightsFile);
        using var expected = Safetensors.Read(Fixtures.PathOf("blip-vqa-tiny", "expected", testCase.GetProperty("file").GetString()!));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();

        var pixels = GenerativeFixture.AssertPixelsMatch(ModelFolder, testCase, expected);
        var tokenizer = BertTokenizer.FromPretrained(ModelFolder);
        var encoded = tokenizer.Encode(testCase.GetProperty("question").GetString()!);
        Assert.Equal(GenerativeFixture.Longs(testCase.GetProperty("input_ids")), encoded.InputIds.Select(i => (long)i).ToArray());

        var inputIds = tensor(encoded.InputIds.Select(i => (long)i).ToArray()).unsqueeze(0);
        var mask = ones_like(inputIds);
        var imageEmbeds = model.EncodeImage(pixels);
        GenerativeFixture.AssertClose(expected["image_embeds"].ToTorch(), imageEmbeds, "image_embeds");
        var questionEmbeds = model.EncodeQuestion(imageEmbeds, inputIds, mask);
        GenerativeFixture.AssertClose(expected["question_embeds"].ToTorch(), questionEmbeds, "question_embeds");

        using (var decoder = model.StartAnswer(questionEmbeds, mask))
            GenerativeFixture.AssertClose(expected["first_step_logits"].ToTorch(), decoder.NextTokenLogits(null), "first_step_logits");

        var recorded = Manifest.GetProperty("generation_config");
        foreach (var (beams, idsKey, textKey) in new[] { (1, "greedy_ids", "greedy_text"), (3, "beam3_ids", "beam3_text") })
        {
            using var decoder = model.StartAnswer(questionEmbeds, mask);
            var settings = model.GenerationSettings(numBeams: beams, maxLength: recorded.GetProperty("max_length").GetInt32(),
                minLength: recorded.GetProperty("min_length").GetInt32());
            var generated = SequenceGenerator.Generate(decoder, settings)[0];
            Assert.Equal(GenerativeFixture.Longs(testCase.GetProperty(idsKey)), generated.Ids);
            Assert.Equal(testCase.GetProperty(textKey).GetString(),
                tokenizer.Decode(generated.Ids.Select(id => (int)id), skipSpecialTokens: true));
        }
    }

    internal static BlipForQuestionAnswering LoadModel(string weightsFile)
    {
        var model = new BlipForQuestionAnswering(ModelConfig.Load<BlipConfig>(ModelFolder));
        using (var weights = CheckpointReader.ReadFile(Path.Combine(ModelFolder, weightsFile)))
        {
            var report = ModuleWeights.Load(model, weights, BlipForQuestionAnswering.LoadOptions);
            Assert.True(report.IsComplete, report.Describe(nameof(BlipForQuestionAnswering), weightsFile));
        }
        model.eval();
        return model;
    }
}

/// <summary>What the BLIP and BLIP-2 fixtures share: case enumeration, pixels and tolerances.</summary>
internal static class GenerativeFixture
{
    /// <summary>Absolute tolerance for values of magnitude up to 1; larger values get it relative to their scale.</summary>
    private const double Tolerance = 1e-4;

    public static IEnumerable<object[]> CasesAndWeights(JsonElement manifest, string modelFolder)
    {
        var weightFiles = CheckpointReader.WeightFileNames.Where(name => File.Exists(Path.Combine(modelFolder, name))).ToArray();
        Assert.NotEmpty(weightFiles);
        var cases = manifest.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToArray();
        Assert.NotEmpty(cases);
        foreach (var name in cases)
            foreach (var weights in weightFiles)
                yield return [name, weights];
    }

    public static JsonElement Case(JsonElement manifest, string name) =>
        manifest.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    public static long[] Longs(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt64()).ToArray();

    /// <summary>The model folder's processor on the case's image gives Python's pixel_values bit for bit.</summary>
    public static Tensor AssertPixelsMatch(string modelFolder, JsonElement testCase, StateDict expected)
    {
        var image = new ImageLoader().LoadFile(Fixtures.PathOf(testCase.GetProperty("image").GetString()!));
        var batch = BlipImageProcessor.FromPretrained(modelFolder).Preprocess(image);
        var want = expected["pixel_values"];
        Assert.Equal(want.Shape, new long[] { 1, 3, batch.Height, batch.Width });
        Assert.Equal(want.ToTorch().data<float>().ToArray(), batch.PixelValues);
        return tensor(batch.PixelValues, [1, 3, batch.Height, batch.Width]);
    }

    public static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        var scale = Math.Max(1.0, expected.abs().max().item<float>());
        var difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference <= Tolerance * scale, $"{what}: max |Δ| = {difference:g3} > {Tolerance * scale:g3}");
    }
}
