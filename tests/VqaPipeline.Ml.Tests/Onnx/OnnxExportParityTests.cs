using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Tests.Models;
using Xunit.Abstractions;

namespace VqaPipeline.Ml.Tests.Onnx;

/// <summary>
/// The exported float32 graph, run by ONNX Runtime on its default settings with nothing of ours in between (the
/// fixture's token ids, and pixel values from the processor that ViltParityTests holds to Python's), gives Python's logits for every case of vilt-tiny/expected/manifest.json (single images and the mixed-size batch).
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
        var inputs = OnnxTestData.FixtureInputs(testCase, export.Float32);
        Assert.Equal(OnnxTestData.Int64s(expected["pixel_mask"]), (long[])inputs["pixel_mask"].Data);

        var logits = OnnxTestData.RunDefault(ExportedViltTiny.ModelFile(export.Float32), inputs);

        var difference = OnnxTestData.MaxDifference(OnnxTestData.Floats(expected["logits"]), logits);
        output.WriteLine($"{caseName}: {logits.Length} logits, max |Δ| = {difference:g3}");
        Assert.True(difference <= Tolerance, $"logits: max |Δ| = {difference:g3} > {Tolerance:g1}");
    }
}
