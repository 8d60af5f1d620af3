using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Models;
using VqaPipeline.Ml.Training;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Training;

/// <summary>Saving a fine-tuned vilt-tiny and loading it back, compared with the fixture folder transformers wrote.</summary>
public class ViltCheckpointWriterTests
{
    [Fact]
    public void Saved_after_a_step_loads_back_with_the_same_outputs()
    {
        var (model, config) = ViltTrainStepFixture.LoadModel();
        using var _ = model;
        var inputs = ViltTrainStepFixture.BatchInputs();
        using (var labels = ViltQuestionAnsweringLoss.Labels(ViltTrainStepFixture.Targets(ViltTrainStepFixture.Manifest), config))
        using (var trainer = new ViltTrainer(model))
            trainer.Step(inputs, labels);
        model.eval();
        using var temporary = new TemporaryFolder();
        var saved = temporary.File("finetuned");

        ViltCheckpointWriter.SavePretrained(model, config, saved, ViltFixture.ModelFolder, ViltFixture.ModelFolder);

        float[] expected;
        using (inference_mode())
            expected = model.forward(inputs).Logits.data<float>().ToArray();
        using var reloaded = TorchViltClassifier.Load(saved, CPU, ScalarType.Float32);
        Assert.True(reloaded.LoadReport.IsComplete);
        var batch = ViltFixture.Case(ViltFixture.Manifest.GetProperty("batch").GetProperty("name").GetString()!);
        using var pipeline = VqaEngine.FromPretrained(saved);
        var loader = new Ml.Imaging.ImageLoader();
        var queries = batch.Images.Zip(batch.Questions, (image, question) => new Ml.Pipelines.VqaQuery(loader.LoadFile(Fixtures.PathOf(image)), question)).ToArray();
        var results = pipeline.Ask(queries, topK: pipeline.Labels.Count);
        for (var row = 0; row < results.Count; row++)
            foreach (var answer in results[row].Answers)
            {
                var logit = expected[row * config.NumLabels + config.Label2Id[answer.Answer]];
                Assert.Equal(1.0 / (1.0 + Math.Exp(-logit)), answer.Score, 1e-6);
            }
        Assert.Empty(Directory.GetDirectories(temporary.Path, ".*"));
    }

    [Fact]
    public void Weights_have_the_fixture_keys_shapes_and_dtypes()
    {
        var (model, config) = ViltTrainStepFixture.LoadModel();
        using var _ = model;
        using var temporary = new TemporaryFolder();
        var saved = temporary.File("model");

        ViltCheckpointWriter.SavePretrained(model, config, saved);

        using var written = Safetensors.Read(Path.Combine(saved, ViltCheckpointWriter.WeightsFileName));
        using var reference = Safetensors.Read(Path.Combine(ViltFixture.ModelFolder, ViltCheckpointWriter.WeightsFileName));
        Assert.Equal(Layout(reference), Layout(written));
        Assert.Equal(reference.Metadata, written.Metadata);
        foreach (var key in reference.Keys)
            Assert.True(reference[key].Data.Span.SequenceEqual(written[key].Data.Span), $"{key} changed on a save without training");
    }

    [Fact]
    public void Config_round_trips_to_what_transformers_wrote()
    {
        var config = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);
        config.Architectures = null;
        using var model = new ViltForQuestionAnswering(config);
        using var temporary = new TemporaryFolder();
        var saved = temporary.File("model");

        ViltCheckpointWriter.SavePretrained(model, config, saved, ViltFixture.ModelFolder, ViltFixture.ModelFolder);

        Assert.Equal(File.ReadAllText(Path.Combine(ViltFixture.ModelFolder, ModelConfig.FileName)),
            File.ReadAllText(Path.Combine(saved, ModelConfig.FileName)));
        var reloaded = ModelConfig.Load<ViltConfig>(saved);
        Assert.Equal(config.Id2Label, reloaded.Id2Label);
        Assert.Equal(config.Label2Id, reloaded.Label2Id);
        Assert.Equal([nameof(ViltForQuestionAnswering)], reloaded.Architectures!);
        Assert.Equal("float32", reloaded.TorchDtype);
        foreach (var name in ViltCheckpointWriter.TokenizerFileNames.Append(ViltCheckpointWriter.PreprocessorFileName)
                     .Where(name => File.Exists(Path.Combine(ViltFixture.ModelFolder, name))))
            Assert.Equal(File.ReadAllBytes(Path.Combine(ViltFixture.ModelFolder, name)), File.ReadAllBytes(Path.Combine(saved, name)));
    }

    [Fact]
    public void Saving_over_a_folder_replaces_it_whole()
    {
        var config = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);
        using var model = new ViltForQuestionAnswering(config);
        using var temporary = new TemporaryFolder();
        var saved = temporary.File("model");
        Directory.CreateDirectory(saved);
        File.WriteAllText(Path.Combine(saved, "stale.bin"), "old");

        ViltCheckpointWriter.SavePretrained(model, config, saved);

        Assert.False(File.Exists(Path.Combine(saved, "stale.bin")));
        Assert.True(File.Exists(Path.Combine(saved, ViltCheckpointWriter.WeightsFileName)));
        Assert.Equal([saved], Directory.GetDirectories(temporary.Path));
    }

    [Fact]
    public void A_tokenizer_folder_without_vocab_is_rejected_and_nothing_is_written()
    {
        var config = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder);
        using var model = new ViltForQuestionAnswering(config);
        using var temporary = new TemporaryFolder();
        var empty = Directory.CreateDirectory(temporary.File("empty")).FullName;

        var error = Assert.Throws<CheckpointWriteException>(() =>
            ViltCheckpointWriter.SavePretrained(model, config, temporary.File("model"), tokenizerSourceFolder: empty));

        Assert.Contains("vocab.txt", error.Message);
        Assert.Equal([empty], Directory.GetDirectories(temporary.Path));
    }

    private static List<string> Layout(StateDict weights) =>
        weights.Keys.Order(StringComparer.Ordinal)
            .Select(key => $"{key} {weights[key].DType} [{string.Join(", ", weights[key].Shape)}]").ToList();
}
