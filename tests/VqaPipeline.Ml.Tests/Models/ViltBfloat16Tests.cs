using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Pipelines;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Models;

/// <summary>
/// bfloat16 compute (the whole model converted, as <see cref="TorchViltClassifier"/> does for <c>--dtype bfloat16</c>)
/// keeps Python's float32 top-1 answer on every question of vilt-tiny/expected whose float32 top-2 logit margin
/// exceeds <see cref="DecisiveMarginInStd"/> standard deviations of that question's logits; closer calls may flip
/// under bf16 rounding and are reported, not asserted.
/// </summary>
public class ViltBfloat16Tests(ITestOutputHelper output)
{
    // bfloat16 keeps 8 significant bits, so its errors grow with the size of the logits: the margin is measured in
    // their spread (0.2 standard deviations is about 0.2 on the shared fixture, whose logits have a std of about 1).
    private const float DecisiveMarginInStd = 0.2f;

    public static IEnumerable<object[]> Cases() => ViltFixture.CaseNames(ViltFixture.Manifest).Select(name => new object[] { name });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bfloat16_keeps_the_float32_answer_when_it_is_decisive(string caseName)
    {
        // A tiny model is quick even where libtorch emulates bfloat16, so the check runs on every CPU.
        using var classifier = TorchViltClassifier.Load(ViltFixture.ModelFolder, CPU, ScalarType.BFloat16, allowEmulatedBfloat16: true);
        var labels = classifier.Labels.Count;
        var (reference, bfloat16) = (ReferenceLogits(caseName), classifier.Logits(Batch(caseName)));
        Assert.Equal(reference.Length, bfloat16.Length);

        for (var row = 0; row < reference.Length / labels; row++)
        {
            var expected = reference.AsSpan(row * labels, labels);
            var actual = bfloat16.AsSpan(row * labels, labels);
            var (top, margin) = TopAndMargin(expected);
            var answer = TopAndMargin(actual).Top;
            output.WriteLine($"{caseName} row {row}: float32 '{classifier.Labels[top]}' by {margin:F3}, bfloat16 '{classifier.Labels[answer]}'");
            if (margin > DecisiveMargin(expected))
                Assert.True(top == answer,
                    $"{caseName} row {row}: bfloat16 answers '{classifier.Labels[answer]}', float32 '{classifier.Labels[top]}' (margin {margin:F3})");
        }
    }

    [Fact]
    public void Some_fixture_answers_are_decisive_enough_to_check()
    {
        var labels = ModelConfig.Load<ViltConfig>(ViltFixture.ModelFolder).NumLabels;
        var checkedRows = 0;
        foreach (var name in ViltFixture.CaseNames(ViltFixture.Manifest))
        {
            var logits = ReferenceLogits(name);
            for (var row = 0; row < logits.Length / labels; row++)
            {
                var margin = TopAndMargin(logits.AsSpan(row * labels, labels)).Margin;
                if (margin > DecisiveMargin(logits.AsSpan(row * labels, labels))) checkedRows++;
                else output.WriteLine($"excluded: {name} row {row} (float32 top-2 margin {margin:F3})");
            }
        }
        output.WriteLine($"{checkedRows} rows checked");
        Assert.True(checkedRows > 0, $"no fixture question has a float32 top-2 margin above {DecisiveMarginInStd} std: the bf16 check tests nothing");
    }

    private static float DecisiveMargin(ReadOnlySpan<float> logits)
    {
        var mean = 0.0;
        foreach (var logit in logits) mean += logit;
        mean /= logits.Length;
        var variance = 0.0;
        foreach (var logit in logits) variance += (logit - mean) * (logit - mean);
        return (float)(DecisiveMarginInStd * Math.Sqrt(variance / logits.Length));
    }

    private static float[] ReferenceLogits(string caseName)
    {
        using var expected = Safetensors.Read(Path.Combine(ViltFixture.ExpectedFolder, ViltFixture.Case(caseName).File));
        using var logits = expected["logits"].ToTorch();
        return logits.to(ScalarType.Float32).data<float>().ToArray();
    }

    /// <summary>The fixture's own token ids (padded as Python padded them) and the processed images of the case.</summary>
    private static ClassifierBatch Batch(string caseName)
    {
        var testCase = ViltFixture.Case(caseName);
        using var expected = Safetensors.Read(Path.Combine(ViltFixture.ExpectedFolder, testCase.File));
        long[] Ids(string key)
        {
            using var ids = expected[key].ToTorch();
            return ids.to(int64).data<long>().ToArray();
        }
        var loader = new ImageLoader();
        var images = ViltImageProcessor.FromPretrained(ViltFixture.ModelFolder)
            .Preprocess(testCase.Images.Select(image => loader.LoadFile(Fixtures.PathOf(image))).ToArray());
        var rows = testCase.Questions.Length;
        var inputIds = Ids("input_ids");
        return new ClassifierBatch(inputIds, Ids("attention_mask"), Ids("token_type_ids"), rows, inputIds.Length / rows, images);
    }

    private static (int Top, float Margin) TopAndMargin(ReadOnlySpan<float> logits)
    {
        int top = 0, second = -1;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[top]) (second, top) = (top, i);
            else if (second < 0 || logits[i] > logits[second]) second = i;
        }
        return (top, second < 0 ? float.PositiveInfinity : logits[top] - logits[second]);
    }
}
