using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Tests.Models;
using Xunit.Abstractions;

namespace VqaPipeline.Ml.Tests.Onnx;

/// <summary>
/// The exported float32 graph, run by ONNX Runtime on its default settings with nothing of ours in between, gives
/// Python's logits for every case of vilt-tiny/expected/manifest.json (single images and the mixed-size batch).
/// </summary>
public sealed class OnnxExportParityTests(ExportedViltTiny export, ITestOutputHelper output) : IClassFixture<ExportedViltTiny>
{
    private const double Tolerance = 1e-4;

    public static IEnumerable<object[]> Cases() => ViltFixture.CaseNames(ViltFixture.Manifest).Select(name => new object[] { name });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Exported_graph_reproduces_python_logits(string caseName)
    {
        var testCase = ViltFixture.Case(caseName);
        using var expected = Safetensors.Read(Path.Combine(ViltFixture.ExpectedFolder, testCase.File));
        var inputIds = expected["input_ids"];
        var loader = new ImageLoader();
        var images = ViltImageProcessor.FromPretrained(export.Float32)
            .Preprocess(testCase.Images.Select(image => loader.LoadFile(Fixtures.PathOf(image))).ToArray());
        Assert.Equal(OnnxTestData.Int64s(expected["pixel_mask"]), images.PixelMask);

        var logits = OnnxTestData.RunDefault(ExportedViltTiny.ModelFile(export.Float32), new Dictionary<string, (Array, long[])>
        {
            ["input_ids"] = (OnnxTestData.Int64s(inputIds), inputIds.Shape),
            ["attention_mask"] = (OnnxTestData.Int64s(expected["attention_mask"]), inputIds.Shape),
            ["token_type_ids"] = (OnnxTestData.Int64s(expected["token_type_ids"]), inputIds.Shape),
            ["pixel_values"] = (images.PixelValues, [images.BatchSize, 3, images.Height, images.Width]),
            ["pixel_mask"] = (images.PixelMask!, [images.BatchSize, images.Height, images.Width]),
        });

        var difference = OnnxTestData.MaxDifference(OnnxTestData.Floats(expected["logits"]), logits);
        output.WriteLine($"{caseName}: {logits.Length} logits, max |Δ| = {difference:g3}");
        Assert.True(difference <= Tolerance, $"logits: max |Δ| = {difference:g3} > {Tolerance:g1}");
    }
}
