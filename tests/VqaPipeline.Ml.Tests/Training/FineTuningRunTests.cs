using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Data.Labels;
using VqaPipeline.Ml.Data.Synthetic;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Models;
using VqaPipeline.Ml.Training;
using Xunit.Abstractions;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Ml.Tests.Training;

/// <summary>ViltFineTuningRun on small synthetic scene sets with vilt-tiny's config.</summary>
public sealed class FineTuningRunTests(ITestOutputHelper output) : IDisposable
{
    private readonly TemporaryFolder temp = new();

    public void Dispose() => temp.Dispose();

    private string Scenes(int images, int questionsPerImage)
    {
        var folder = temp.File("scenes");
        new SyntheticSceneGenerator(new SyntheticOptions { Images = images, QuestionsPerImage = questionsPerImage, Seed = 3, ImageSize = 96 })
            .Generate(folder);
        return folder;
    }

    [Fact]
    public void Overfitting_one_repeated_batch_lowers_the_loss_and_leaves_a_loadable_model_folder()
    {
        var data = Scenes(images: 2, questionsPerImage: 2);
        var vocabulary = AnswerVocabulary.Build(VqaDataset.Open(data).Read());
        var result = ViltFineTuningRun.Run(new FineTuningOptions
        {
            DataFolder = data,
            OutputFolder = temp.File("out"),
            Model = new FineTuningModelSource.FromConfig(Path.Combine(ViltFixture.ModelFolder, "config.json"), ViltFixture.ModelFolder),
            BatchSize = 4,
            MaxSteps = 30,
            AdamW = new AdamWOptions { LearningRate = 1e-3 },
        }, output.WriteLine);

        output.WriteLine($"losses: {string.Join(", ", result.Losses.Select(l => l.ToString("0.000")))}; {result.ExamplesPerSecond:0.0} examples/s");
        Assert.True(result.Completed);
        Assert.Equal(30, result.Losses.Count);
        // Soft targets such as 0.9 leave an entropy floor, so the loss cannot approach 0; it must still fall well below its start.
        Assert.True(result.Losses[^1] < 0.6 * result.Losses[0], $"loss went from {result.Losses[0]} to {result.Losses[^1]}");
        Assert.Equal(result.Losses.Min(), result.Losses[^1]);

        var saved = ModelConfig.Load<ViltConfig>(result.OutputFolder);
        Assert.Equal(vocabulary.Id2Label, Enumerable.Range(0, saved.NumLabels).Select(id => saved.Id2Label[id]));
        Assert.Equal(vocabulary.Id2Label, result.Vocabulary);
        using var pipeline = VqaEngine.FromPretrained(result.OutputFolder);
        var example = VqaDataset.Open(data).Read().First();
        var answer = pipeline.Ask(VqaDataset.Open(data).LoadImage(example), example.Question, topK: 1).Answers[0].Answer;
        Assert.Contains(answer, vocabulary.Id2Label);
    }

    [Fact]
    public void A_run_split_by_a_checkpoint_ends_with_the_weights_of_an_uninterrupted_run()
    {
        var data = Scenes(images: 3, questionsPerImage: 2);
        FineTuningOptions Options(string outputFolder) => new()
        {
            DataFolder = data,
            OutputFolder = outputFolder,
            Model = new FineTuningModelSource.Backbone(ViltFixture.ModelFolder),
            BatchSize = 4,
            GradientAccumulation = 2,
            MaxSteps = 6,
            WarmupSteps = 2,
            Seed = 9,
            NoDecayBiasAndNorm = true,
        };

        ViltFineTuningRun.Run(Options(temp.File("whole")));
        var first = ViltFineTuningRun.Run(Options(temp.File("split")) with { SaveEvery = 2, KeepLast = 1, StopAfterSteps = 3 });
        var second = ViltFineTuningRun.Run(Options(temp.File("split")) with { SaveEvery = 2, KeepLast = 1, Resume = true });

        Assert.False(first.Completed);
        Assert.Equal(2, second.ResumedFromStep);
        Assert.Equal(4, second.Losses.Count);
        Assert.Equal([6], TrainingCheckpoints.List(temp.File("split")).Select(c => c.Step));
        FineTuningAssert.SameWeights(temp.File("whole"), temp.File("split"), 1e-6);
    }

    [Fact]
    public void A_bfloat16_run_updates_float32_master_weights_saves_them_and_resumes_exactly()
    {
        var data = Scenes(images: 3, questionsPerImage: 2);
        FineTuningOptions Options(string outputFolder, string dtype) => new()
        {
            DataFolder = data,
            OutputFolder = outputFolder,
            Model = new FineTuningModelSource.Backbone(ViltFixture.ModelFolder),
            BatchSize = 4,
            MaxSteps = 5,
            Seed = 4,
            DType = dtype,
            // A tiny model trains quickly even where libtorch emulates bfloat16.
            AllowEmulatedBfloat16 = true,
        };

        var float32 = ViltFineTuningRun.Run(Options(temp.File("fp32"), "float32"));
        var whole = ViltFineTuningRun.Run(Options(temp.File("whole"), "bfloat16"));
        ViltFineTuningRun.Run(Options(temp.File("split"), "bfloat16") with { SaveEvery = 2, StopAfterSteps = 3 });
        var resumed = ViltFineTuningRun.Run(Options(temp.File("split"), "bfloat16") with { SaveEvery = 2, Resume = true });

        // bfloat16 keeps 8 bits of mantissa: the first loss (same weights, same batch) agrees to about 1%.
        Assert.True(Math.Abs(whole.Losses[0] - float32.Losses[0]) <= 0.02 * float32.Losses[0],
            $"bfloat16 loss {whole.Losses[0]} vs float32 {float32.Losses[0]}");
        Assert.Equal(2, resumed.ResumedFromStep);
        FineTuningAssert.SameWeights(temp.File("whole"), temp.File("split"), 1e-6);

        using var saved = Safetensors.Read(Path.Combine(temp.File("whole"), ViltCheckpointWriter.WeightsFileName));
        Assert.All(saved.Keys, key => Assert.Equal(TensorDType.Float32, saved[key].DType));
        // Masters carry updates finer than bfloat16 can hold: the saved weights are not all bfloat16-representable.
        var classifier = saved.Keys.Single(key => key.StartsWith("classifier.") && key.EndsWith("3.weight"));
        using var weights = saved[classifier].ToTorch();
        using var rounded = weights.to(TorchSharp.torch.ScalarType.BFloat16).to(TorchSharp.torch.ScalarType.Float32);
        Assert.True(weights.ne(rounded).any().item<bool>(), $"{classifier} holds only bfloat16 values: the masters were not saved");
    }

    [Fact]
    public void The_learning_rate_warms_up_then_decays_linearly_to_zero()
    {
        var schedule = new LinearSchedule(1.0, WarmupSteps: 2, TotalSteps: 6);
        Assert.Equal([0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0], Enumerable.Range(0, 7).Select(schedule.LearningRate));
    }
}

/// <summary>Compares the model.safetensors of two model folders.</summary>
internal static class FineTuningAssert
{
    public static void SameWeights(string expectedFolder, string actualFolder, double tolerance)
    {
        using var expected = Safetensors.Read(Path.Combine(expectedFolder, ViltCheckpointWriter.WeightsFileName));
        using var actual = Safetensors.Read(Path.Combine(actualFolder, ViltCheckpointWriter.WeightsFileName));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var key in expected.Keys)
        {
            using var difference = (expected[key].ToTorch() - actual[key].ToTorch()).abs().max();
            Assert.True(difference.item<float>() <= tolerance, $"{key} differs by {difference.item<float>()}");
        }
    }
}
