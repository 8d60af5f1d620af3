using System.Text.RegularExpressions;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Models;
using VqaPipeline.Ml.Training;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Training;

/// <summary>HF-style initialization, and a question-answering model started from an MLM backbone checkpoint.</summary>
public class ViltInitializationTests
{
    private static readonly Regex LayerNormWeight = new(@"(LayerNorm|layernorm[a-z_]*|classifier\.1)\.weight$");
    private static readonly string[] ZeroAtConstruction = ["vilt.embeddings.cls_token", "vilt.embeddings.position_embeddings"];

    // n draws of N(0, σ²): their standard deviation lies within σ/√(2(n−1)) of σ and their mean within σ/√n of 0, one
    // standard error each; five of them hold for any size of tensor and any initializer_range of the fixture config.
    private const double StandardErrors = 5;

    private static void AssertDrawnFromNormal(Tensor values, double sigma, string name)
    {
        var count = values.numel();
        var std = values.std().item<double>();
        var mean = values.mean().item<double>();
        var stdBound = StandardErrors * sigma / Math.Sqrt(2.0 * (count - 1));
        var meanBound = StandardErrors * sigma / Math.Sqrt(count);
        Assert.True(Math.Abs(std - sigma) < stdBound, $"{name}: std {std:g4}, expected {sigma:g4} ± {stdBound:g3} ({count} values)");
        Assert.True(Math.Abs(mean) < meanBound, $"{name}: mean {mean:g4}, expected 0 ± {meanBound:g3} ({count} values)");
    }

    /// <summary>The fixture's config, widened if needed to a hidden size the sine-cosine table can fill (a multiple of 4 and of the heads).</summary>
    internal static ViltConfig SineCosineConfig()
    {
        var config = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);
        var step = 4 * config.NumAttentionHeads / (int)System.Numerics.BigInteger.GreatestCommonDivisor(4, config.NumAttentionHeads);
        config.HiddenSize = (config.HiddenSize + step - 1) / step * step;
        return config;
    }

    [Fact]
    public void Sine_cosine_image_positions_give_each_patch_its_row_and_column_and_touch_nothing_else()
    {
        var config = SineCosineConfig();
        using var model = new ViltForQuestionAnswering(config);
        ViltInitializer.Initialize(model, config, seed: 3);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        ViltInitializer.InitializeImagePositionsSinCos(model);

        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, value) in before.Where(p => p.Key != "vilt.embeddings.position_embeddings"))
            Assert.True(value.eq(parameters[name].detach()).all().item<bool>(), $"{name} changed");
        using var positions = parameters["vilt.embeddings.position_embeddings"].detach()[0].to(float64);
        var width = positions.shape[1];
        var grid = (long)Math.Sqrt(positions.shape[0] - 1);
        Assert.Equal(0.0, positions[0].abs().max().item<double>());
        // Channel 0 is sin(row), channel width/4 is cos(row), channel width/2 is sin(column): frequency 1.
        for (long patch = 0; patch < grid * grid; patch++)
        {
            long row = patch / grid, column = patch % grid;
            Assert.Equal(Math.Sin(row), positions[patch + 1, 0].item<double>(), 6);
            Assert.Equal(Math.Cos(row), positions[patch + 1, width / 4].item<double>(), 6);
            Assert.Equal(Math.Sin(column), positions[patch + 1, width / 2].item<double>(), 6);
        }
        foreach (var value in before.Values) value.Dispose();
    }

    [Fact]
    public void The_scale_multiplies_the_whole_sine_cosine_table()
    {
        var config = SineCosineConfig();
        using var model = new ViltForQuestionAnswering(config);
        Tensor Positions() => model.named_parameters().Single(p => p.name == "vilt.embeddings.position_embeddings").parameter.detach().clone();

        ViltInitializer.InitializeImagePositionsSinCos(model);
        using var unscaled = Positions();
        ViltInitializer.InitializeImagePositionsSinCos(model, scale: 4);
        using var scaled = Positions();

        Assert.True(unscaled.abs().max().item<float>() > 0.5f);
        Assert.True(scaled.allclose(unscaled * 4, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void Fresh_model_is_initialized_like_transformers()
    {
        var config = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);
        config.PadTokenId = 0;
        using var model = new ViltForQuestionAnswering(config);

        ViltInitializer.Initialize(model, config, seed: 3);

        foreach (var (name, parameter) in model.named_parameters())
        {
            using var values = parameter.detach().to(float64);
            if (name.EndsWith(".bias", StringComparison.Ordinal) || ZeroAtConstruction.Contains(name))
                Assert.True(values.abs().max().item<double>() == 0, $"{name} should be zero");
            else if (LayerNormWeight.IsMatch(name))
                Assert.True(values.eq(1.0).all().item<bool>(), $"{name} should be one");
            else
                AssertDrawnFromNormal(values, config.InitializerRange, name);
        }
        var words = model.named_parameters().Single(p => p.name.EndsWith("word_embeddings.weight", StringComparison.Ordinal)).parameter;
        Assert.True(words[config.PadTokenId!.Value].abs().max().item<float>() == 0, "the padding row should be zero");
    }

    [Fact]
    public void Same_seed_gives_the_same_weights()
    {
        var config = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);
        using var first = new ViltForQuestionAnswering(config);
        using var second = new ViltForQuestionAnswering(config);
        using var third = new ViltForQuestionAnswering(config);
        ViltInitializer.Initialize(first, config, seed: 11);
        ViltInitializer.Initialize(second, config, seed: 11);
        ViltInitializer.Initialize(third, config, seed: 12);

        var a = first.state_dict();
        var b = second.state_dict();
        var c = third.state_dict();
        Assert.All(a.Keys, key => Assert.True(a[key].allclose(b[key], rtol: 0, atol: 0), key));
        Assert.Contains(a.Keys, key => !a[key].allclose(c[key], rtol: 0, atol: 0));
    }

    [Fact]
    public void Question_answering_model_starts_from_an_mlm_backbone()
    {
        using var temporary = new TemporaryFolder();
        var backbone = WriteMlmBackbone(temporary.File("mlm"));
        string[] answers = ["red", "blue", "two", "yes", "no", "cat", "nothing"];

        var start = ViltFineTuning.FromBackbone(backbone, answers, seed: 5);
        using var model = start.Model;

        var head = model.state_dict().Keys.Where(key => key.StartsWith("classifier.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(head, start.Report.MissingKeys);
        Assert.All(start.Report.UnexpectedKeys, key => Assert.StartsWith("mlm_score.", key));
        Assert.NotEmpty(start.Report.UnexpectedKeys);
        Assert.Contains("newly initialized: ['classifier.0.bias'", start.LoadMessage);
        Assert.Contains("Some weights of the model checkpoint at", start.LoadMessage);
        Assert.Equal(answers, Enumerable.Range(0, answers.Length).Select(id => start.Config.Id2Label[id]));
        Assert.Equal(answers.Length, start.Config.NumLabels);

        var state = model.state_dict();
        using (var weights = CheckpointReader.ReadFolder(backbone))
            foreach (var key in weights.Keys.Where(key => key.StartsWith("vilt.", StringComparison.Ordinal)))
                Assert.True(weights[key].ToTorch().allclose(state[key], rtol: 0, atol: 0), $"{key} not taken from the backbone");
        Assert.True(state["classifier.1.weight"].eq(1.0).all().item<bool>());
        foreach (var bias in new[] { "classifier.0.bias", "classifier.1.bias", "classifier.3.bias" })
            Assert.True(state[bias].abs().max().item<float>() == 0, bias);
        using (var head0 = state["classifier.0.weight"].to(float64))
            AssertDrawnFromNormal(head0, start.Config.InitializerRange, "classifier.0.weight");
        Assert.Equal(new long[] { answers.Length, 2 * start.Config.HiddenSize }, state["classifier.3.weight"].shape);

        var again = ViltFineTuning.FromBackbone(backbone, answers, seed: 5);
        using var againModel = again.Model;
        Assert.True(againModel.state_dict()["classifier.3.weight"].allclose(state["classifier.3.weight"], rtol: 0, atol: 0));

        model.eval();
        using var inference = inference_mode();
        var logits = model.forward(ViltTrainStepFixture.BatchInputs()).Logits;
        Assert.Equal(answers.Length, logits.shape[1]);
        Assert.True(logits.isfinite().all().item<bool>());
    }

    [Fact]
    public void Duplicate_answers_are_rejected()
    {
        var error = Assert.Throws<InvalidTrainingBatchException>(() => ViltFineTuning.FromBackbone(ViltFixture.ModelFolder, ["yes", "no", "yes"]));
        Assert.Contains("'yes'", error.Message);
    }

    /// <summary>vilt-tiny's backbone weights plus an MLM head, saved as a ViltForMaskedLM checkpoint.</summary>
    private static string WriteMlmBackbone(string folder)
    {
        Directory.CreateDirectory(folder);
        var config = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);
        config.Architectures = ["ViltForMaskedLM"];
        config.NumLabels = 2;
        config.Save(folder);
        var hidden = config.HiddenSize;
        var generator = new Random(1);
        CheckpointTensor Fake(string name, params long[] shape)
        {
            var values = new float[shape.Aggregate(1L, (product, size) => product * size)];
            for (var i = 0; i < values.Length; i++) values[i] = (float)(generator.NextDouble() - 0.5);
            return new CheckpointTensor(name, TensorDType.Float32, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        }
        using var weights = CheckpointReader.ReadFolder(ViltFixture.ModelFolder);
        var tensors = weights.Values.Where(tensor => tensor.Name.StartsWith("vilt.", StringComparison.Ordinal)).ToList();
        tensors.AddRange([
            Fake("mlm_score.bias", config.VocabSize),
            Fake("mlm_score.decoder.weight", config.VocabSize, hidden),
            Fake("mlm_score.transform.dense.weight", hidden, hidden),
            Fake("mlm_score.transform.dense.bias", hidden),
            Fake("mlm_score.transform.LayerNorm.weight", hidden),
            Fake("mlm_score.transform.LayerNorm.bias", hidden),
        ]);
        Safetensors.Write(Path.Combine(folder, ViltCheckpointWriter.WeightsFileName), tensors);
        return folder;
    }
}
