using System.Text.Json;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Tests.Cli;
using VqaPipeline.Ml.Tokenization;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Pipelines;

/// <summary>
/// VqaEngine over the BLIP and BLIP-2 fixtures: it answers as Python's generate did, shares one image encoding across
/// questions, answers a batch as it answers each question alone, scores candidates, and refuses options it cannot honour.
/// </summary>
public sealed class GenerativeEngineTests
{
    private static readonly ImageLoader Loader = new();

    public static TheoryData<string, string> FixtureCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "blip-vqa-tiny", "blip2-opt-tiny" })
            foreach (var testCase in Cases(model))
                data.Add(model, testCase.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonElement[] Cases(string model) =>
        Fixtures.Manifest(model, "expected", "manifest.json").GetProperty("cases").EnumerateArray().ToArray();

    private static JsonElement Case(string model, string name) => Cases(model).Single(c => c.GetProperty("name").GetString() == name);

    private static RgbImage ImageOf(JsonElement testCase) => Loader.LoadFile(Fixtures.PathOf(testCase.GetProperty("image").GetString()!));

    /// <summary>The generation Python recorded: BLIP's default length; BLIP-2's max_new_tokens (ids less the prepended bos).</summary>
    private static GenerationOptions RecordedOptions(string model, JsonElement testCase, int beams = 1) => new()
    {
        NumBeams = beams,
        MaxNewTokens = model == "blip2-opt-tiny" ? testCase.GetProperty("greedy_ids").GetArrayLength() - 1 : null,
    };

    [Theory]
    [MemberData(nameof(FixtureCases))]
    public void Generated_answers_are_pythons_decoded_and_stripped(string model, string name)
    {
        var testCase = Case(model, name);
        using var engine = VqaEngine.FromPretrained(Fixtures.PathOf(model));
        var question = testCase.GetProperty("question").GetString()!;

        foreach (var (beams, ids, text) in new[] { (1, "greedy_ids", "greedy_text"), (3, "beam3_ids", "beam3_text") })
        {
            var answer = engine.Generate(ImageOf(testCase), [question], RecordedOptions(model, testCase, beams)).Single();
            Assert.Equal(testCase.GetProperty(ids).EnumerateArray().Select(e => e.GetInt64()), answer.Ids);
            Assert.Equal(testCase.GetProperty(text).GetString()!.Trim(), answer.Answer);
            Assert.Equal(question, answer.Question);
        }
        Assert.True(engine.IsGenerative);
        Assert.Null(engine.LoadWarning);
    }

    [Theory]
    [InlineData("blip-vqa-tiny", 1)]
    [InlineData("blip-vqa-tiny", 3)]
    [InlineData("blip2-opt-tiny", 1)]
    [InlineData("blip2-opt-tiny", 3)]
    public void A_batch_of_questions_of_different_lengths_answers_each_as_alone(string model, int beams)
    {
        var cases = Cases(model);
        string[] questions = [.. cases.Select(c => c.GetProperty("question").GetString()!), "", "what?"];
        var options = new GenerationOptions { NumBeams = beams, MaxNewTokens = 6 };
        var image = ImageOf(cases[0]);
        using var batched = VqaEngine.FromPretrained(Fixtures.PathOf(model), new VqaEngineOptions { BatchSize = 8 });
        using var single = VqaEngine.FromPretrained(Fixtures.PathOf(model), new VqaEngineOptions { BatchSize = 1 });

        var together = batched.Generate(image, questions, options);
        var alone = questions.Select(q => single.Generate(image, [q], options).Single()).ToArray();

        for (var i = 0; i < questions.Length; i++)
        {
            Assert.Equal(alone[i].Ids, together[i].Ids);
            Assert.Equal(alone[i].Answer, together[i].Answer);
            Assert.Equal(alone[i].Score, together[i].Score, 1e-4 * Math.Max(1, Math.Abs(alone[i].Score)));
        }
    }

    [Theory]
    [InlineData("blip-vqa-tiny")]
    [InlineData("blip2-opt-tiny")]
    public void One_encoded_image_answers_many_questions_like_fresh_encodings(string model)
    {
        var cases = Cases(model);
        var image = ImageOf(cases[0]);
        var questions = cases.Select(c => c.GetProperty("question").GetString()!).ToArray();
        var options = new GenerationOptions { MaxNewTokens = 5 };
        using var engine = VqaEngine.FromPretrained(Fixtures.PathOf(model));

        using var encoded = engine.EncodeImage(image);
        var shared = questions.Select(q => engine.Generate(encoded, [q], options).Single()).ToArray();
        var fresh = questions.Select(q => engine.Generate(image, [q], options).Single()).ToArray();

        Assert.Equal(fresh.Select(a => a.Ids), shared.Select(a => a.Ids));
    }

    [Fact]
    public void Greedy_score_is_the_product_of_the_generated_tokens_probabilities_in_a_full_forward_pass()
    {
        var folder = Fixtures.PathOf("blip2-opt-tiny");
        var testCase = Cases("blip2-opt-tiny")[0];
        var question = testCase.GetProperty("question").GetString()!;
        using var engine = VqaEngine.FromPretrained(folder);
        var answer = engine.Generate(ImageOf(testCase), [question], new GenerationOptions { MaxNewTokens = 4 }).Single();
        var generated = answer.Ids.Skip(1).ToArray(); // BLIP-2 prepends the bos

        var expected = FullForwardLogProbability(folder, testCase, "Question: " + question + " Answer:", generated);

        Assert.Equal(Math.Exp(expected), answer.Score, Math.Exp(expected) * 1e-4);
        Assert.Equal(expected / generated.Length, answer.MeanLogProbability, 1e-4);
    }

    /// <summary>log p(continuation | image, prompt) from one forward pass over prompt and continuation, no cache.</summary>
    private static double FullForwardLogProbability(string folder, JsonElement testCase, string prompt, long[] continuation)
    {
        var tokenizer = ByteLevelBpeTokenizer.FromPretrained(folder);
        using var model = Models.Blip2ParityTests.LoadModel("model.safetensors");
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var batch = Ml.Models.Blip.BlipImageProcessor.FromPretrained(folder).Preprocess(ImageOf(testCase));
        var pixels = tensor(batch.PixelValues, [1, 3, batch.Height, batch.Width]);
        var ids = tensor(tokenizer.Encode(prompt).Select(i => (long)i).Concat(continuation).ToArray()).unsqueeze(0);
        var logProbabilities = model.Logits(pixels, ids, ones_like(ids)).log_softmax(-1)[0];
        var start = logProbabilities.shape[0] - continuation.Length - 1;
        return continuation.Select((token, i) => (double)logProbabilities[start + i, token].item<float>()).Sum();
    }

    [Fact]
    public void Candidate_probability_is_the_full_forward_probability_of_its_tokens_and_end_of_sequence()
    {
        var folder = Fixtures.PathOf("blip2-opt-tiny");
        var testCase = Cases("blip2-opt-tiny")[0];
        var prompt = "Question: " + testCase.GetProperty("question").GetString() + " Answer:";
        string[] candidates = ["sky", "two cats", "no"];
        using var engine = VqaEngine.FromPretrained(folder);
        using var encoded = engine.EncodeImage(ImageOf(testCase));

        var scores = engine.ScoreCandidates(encoded, testCase.GetProperty("question").GetString()!, candidates);

        var tokenizer = ByteLevelBpeTokenizer.FromPretrained(folder);
        foreach (var candidate in candidates)
        {
            long[] answer = [.. tokenizer.Encode(" " + candidate, addSpecialTokens: false).Select(i => (long)i), tokenizer.IdOf("</s>")!.Value];
            var expected = FullForwardLogProbability(folder, testCase, prompt, answer);
            Assert.Equal(Math.Exp(expected), scores[candidate], Math.Exp(expected) * 1e-4);
        }
    }

    [Fact]
    public void Candidates_given_in_the_options_are_scored_with_every_answer()
    {
        var testCase = Cases("blip-vqa-tiny")[0];
        using var engine = VqaEngine.FromPretrained(Fixtures.PathOf("blip-vqa-tiny"));
        using var encoded = engine.EncodeImage(ImageOf(testCase));
        var question = testCase.GetProperty("question").GetString()!;

        var answer = engine.Generate(encoded, [question], new GenerationOptions { MaxNewTokens = 2, Candidates = ["yes", "no"] }).Single();

        Assert.Equal(["no", "yes"], answer.CandidateScores.Keys.Order());
        Assert.Equal(engine.ScoreCandidates(encoded, question, ["yes", "no"]), answer.CandidateScores);
        Assert.All(answer.CandidateScores.Values, p => Assert.InRange(p, double.Epsilon, 1.0));
    }

    [Theory]
    [InlineData("blip-vqa-tiny")]
    [InlineData("blip2-opt-tiny")]
    public void An_empty_question_is_generated_for_by_the_engine_and_refused_by_ask(string model)
    {
        var image = ImageOf(Cases(model)[0]);
        using var engine = VqaEngine.FromPretrained(Fixtures.PathOf(model));

        var answer = engine.Generate(image, [""], new GenerationOptions { MaxNewTokens = 4 }).Single();

        Assert.Equal("", answer.Question);
        Assert.NotEmpty(answer.Ids);
        Assert.Throws<InvalidQuestionException>(() => engine.Ask(image, ""));
    }

    [Theory]
    [InlineData("blip-vqa-tiny")]
    [InlineData("blip2-opt-tiny")]
    public void Options_the_model_cannot_honour_are_refused_with_a_reason(string model)
    {
        var image = ImageOf(Cases(model)[0]);
        using var engine = VqaEngine.FromPretrained(Fixtures.PathOf(model));
        using var encoded = engine.EncodeImage(image);

        Assert.Contains("at least 1", Assert.Throws<InvalidGenerationOptionsException>(
            () => engine.Generate(encoded, ["what?"], new GenerationOptions { NumBeams = 0 })).Message);
        Assert.Contains("{question}", Assert.Throws<InvalidGenerationOptionsException>(
            () => engine.Generate(encoded, ["what?"], new GenerationOptions { Prompt = "Describe the image." })).Message);
        Assert.Contains("positions", Assert.Throws<InvalidGenerationOptionsException>(
            () => engine.Generate(encoded, ["what?"], new GenerationOptions { MaxNewTokens = 100_000 })).Message);
    }

    [Theory]
    [InlineData("blip-vqa-tiny")]
    [InlineData("blip2-opt-tiny")]
    public void Bfloat16_compute_generates_answers_and_probabilities(string model)
    {
        var testCase = Cases(model)[0];
        // Tiny models: the bfloat16 path is exercised for its results, not its speed, so it may be emulated.
        using var engine = VqaEngine.FromPretrained(Fixtures.PathOf(model),
            new VqaEngineOptions { DType = "bfloat16", AllowEmulatedBfloat16 = true });

        var answers = engine.Generate(ImageOf(testCase), [testCase.GetProperty("question").GetString()!, "what?"],
            new GenerationOptions { MaxNewTokens = 4, Candidates = ["yes"] });

        Assert.All(answers, answer =>
        {
            Assert.InRange(answer.Ids.Count, 2, 5);
            Assert.InRange(answer.Score, 0, 1);
            Assert.InRange(answer.CandidateScores["yes"], double.Epsilon, 1);
        });
    }

    [Fact]
    public void A_vilt_model_refuses_to_score_candidates()
    {
        using var engine = VqaEngine.FromPretrained(Fixtures.PathOf("vilt-tiny"));

        var error = Assert.Throws<UnsupportedModelException>(() => engine.EncodeImage(Loader.LoadFile(Fixtures.PathOf("images", "coco_cats.png"))));

        Assert.Contains("generative model", error.Message);
        Assert.False(engine.IsGenerative);
    }

    [Fact]
    public void A_blip2_folder_without_merges_is_refused_before_loading()
    {
        using var copy = new TinyModelCopy("blip2-opt-tiny");
        copy.Delete("merges.txt");

        var error = Assert.Throws<TokenizerLoadException>(() => VqaEngine.FromPretrained(copy.Path));

        Assert.Contains("merges.txt", error.Message);
    }
}
