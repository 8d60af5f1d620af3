using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Data.Synthetic;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Onnx;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Data.Synthetic;
using VqaPipeline.Ml.Tests.Models;
using VqaPipeline.Ml.Tokenization;
using Xunit.Abstractions;

namespace VqaPipeline.Ml.Tests.Onnx;

/// <summary>
/// The int8 export answers like the float32 one: the same top-1 answer wherever float32's best logit leads the second
/// by more than 0.5, on the fixture cases and on a larger synthetic set for the bundled model (agreement reported).
/// </summary>
public sealed class OnnxInt8AgreementTests(ExportedViltTiny tiny, ITestOutputHelper output) : IClassFixture<ExportedViltTiny>
{
    private const float ClearMargin = 0.5f;

    [Fact]
    public void Int8_top1_equals_float32_where_float32_is_clear_on_the_fixture_cases()
    {
        var loader = new ImageLoader();
        var queries = ViltFixture.AllCases(ViltFixture.Manifest)
            .SelectMany(c => c.Images.Zip(c.Questions, (image, question) => new VqaQuery(loader.LoadFile(Fixtures.PathOf(image)), question)))
            .ToArray();

        var comparison = Compare(tiny.Float32, tiny.Int8, queries);

        output.WriteLine(comparison.ToString());
        Assert.Empty(comparison.ClearDisagreements);
    }

    [Fact]
    public void Int8_top1_equals_float32_where_float32_is_clear_on_a_synthetic_set_for_the_bundled_model()
    {
        using var exports = new TemporaryFolder();
        var bundled = BundledModels.Find(BundledModels.Default)!;
        OnnxExporter.Export(bundled, Path.Combine(exports.Path, "float32"));
        OnnxExporter.Export(bundled, Path.Combine(exports.Path, "int8"), new OnnxExportOptions { Quantization = OnnxQuantization.Int8 });
        // Scenes like the ones the bundled model was trained on (infra/models/train-vilt-shapes.sh), from another seed.
        using var data = new GeneratedDataset(new SyntheticOptions
        {
            Images = 200, Seed = 1601, Layout = SceneLayout.Grid, ImageSize = 96, MaxObjects = 3, QuestionsPerImage = 5,
        });
        var dataset = VqaDataset.Open(data.Folder);
        var queries = dataset.Read().Select(example => new VqaQuery(dataset.LoadImage(example), example.Question)).ToArray();

        var comparison = Compare(Path.Combine(exports.Path, "float32"), Path.Combine(exports.Path, "int8"), queries);

        output.WriteLine(comparison.ToString());
        Assert.Equal(1000, comparison.Questions);
        Assert.True(comparison.Clear >= comparison.Questions / 2, $"only {comparison.Clear} clear questions: the check has too few cases to mean anything");
        Assert.Empty(comparison.ClearDisagreements);
    }

    private sealed record Comparison(int Questions, int Clear, int Agreeing, IReadOnlyList<string> ClearDisagreements)
    {
        public override string ToString() =>
            $"{Questions} questions: int8 top-1 = float32 top-1 on {Agreeing} ({100.0 * Agreeing / Questions:0.0}%); " +
            $"{Clear} with a float32 top-2 margin over {ClearMargin}, of which {ClearDisagreements.Count} disagree";
    }

    /// <summary>Runs every query through both exports one at a time and compares the top-1 labels.</summary>
    private static Comparison Compare(string float32Folder, string int8Folder, IReadOnlyList<VqaQuery> queries)
    {
        using var float32 = OnnxViltClassifier.Load(float32Folder);
        using var int8 = OnnxViltClassifier.Load(int8Folder);
        var tokenizer = BertTokenizer.FromPretrained(float32Folder);
        var processor = ViltImageProcessor.FromPretrained(float32Folder);
        int clear = 0, agreeing = 0;
        var disagreements = new List<string>();
        foreach (var query in queries)
        {
            var encoding = tokenizer.Encode(query.Question, maxLength: float32.MaxTextLength, truncate: true);
            static long[] Longs(IReadOnlyList<int> values) => values.Select(v => (long)v).ToArray();
            var batch = new ClassifierBatch(Longs(encoding.InputIds), Longs(encoding.AttentionMask), Longs(encoding.TokenTypeIds),
                1, encoding.InputIds.Length, processor.Preprocess([query.Image]));
            var reference = float32.Logits(batch);
            var quantized = int8.Logits(batch);
            var order = Enumerable.Range(0, reference.Length).OrderByDescending(i => reference[i]).ToArray();
            var same = order[0] == Array.IndexOf(quantized, quantized.Max());
            if (same) agreeing++;
            if (reference[order[0]] - reference[order[1]] <= ClearMargin) continue;
            clear++;
            if (!same) disagreements.Add($"'{query.Question}': float32 {float32.Labels[order[0]]}, int8 {int8.Labels[Array.IndexOf(quantized, quantized.Max())]}");
        }
        return new Comparison(queries.Count, clear, agreeing, disagreements);
    }
}
