using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Onnx;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Cli;
using VqaPipeline.Ml.Tests.Models;
using Xunit.Abstractions;

namespace VqaPipeline.Ml.Tests.Onnx;

/// <summary>What the exported file is: well-formed ONNX, standard and com.microsoft operators only, HF's signature, fused kernels.</summary>
public sealed class OnnxGraphTests(ExportedViltTiny export, ITestOutputHelper output) : IClassFixture<ExportedViltTiny>
{
    public static TheoryData<string> Precisions => new() { "float32", "int8" };

    private string Folder(string precision) => precision == "int8" ? export.Int8 : export.Float32;

    [Theory]
    [MemberData(nameof(Precisions))]
    public void Exported_file_passes_the_structural_checker_and_uses_no_custom_operators(string precision)
    {
        var model = OnnxProtobuf.Read(ExportedViltTiny.ModelFile(Folder(precision)));

        Assert.Empty(OnnxModelChecker.Problems(model));
        Assert.Equal(17, model.StandardOpset);
        Assert.Equal(8, model.IrVersion);
        Assert.All(model.Graph.Nodes, node => Assert.Contains(node.Domain, new[] { "", OnnxDomains.Microsoft }));
        Assert.All(model.OpsetImports, opset => Assert.Contains(opset.Domain, new[] { "", OnnxDomains.Microsoft }));
        Assert.Equal(precision == "int8" ? "int8" : "none", model.Metadata["quantization"]);
    }

    [Theory]
    [MemberData(nameof(Precisions))]
    public void Graph_takes_hf_input_names_and_dtypes_with_dynamic_batch_text_and_image_sizes(string precision)
    {
        var graph = OnnxProtobuf.Read(ExportedViltTiny.ModelFile(Folder(precision))).Graph;
        var labels = ExportedViltTiny.Config.NumLabels;

        Assert.Equal(
            [
                "input_ids int64 [batch, text_length]", "attention_mask int64 [batch, text_length]",
                "token_type_ids int64 [batch, text_length]", "pixel_values float32 [batch, 3, height, width]",
                "pixel_mask int64 [batch, height, width]",
            ],
            graph.Inputs.Select(Describe));
        Assert.Equal([$"logits float32 [batch, {labels}]"], graph.Outputs.Select(Describe));
    }

    [Fact]
    public void Int8_export_stores_the_encoder_linear_weights_as_int8()
    {
        var float32 = OnnxProtobuf.Read(ExportedViltTiny.ModelFile(export.Float32)).Graph;
        var int8 = OnnxProtobuf.Read(ExportedViltTiny.ModelFile(export.Int8)).Graph;
        var layers = ExportedViltTiny.Config.NumHiddenLayers;

        // Per layer: the packed Q/K/V, the attention output, the intermediate and the output projections.
        Assert.Equal(4 * layers, int8.Initializers.Count(t => t.DataType == OnnxDataType.Int8));
        Assert.Equal(4 * layers, int8.Nodes.Count(n => n.OpType == "DynamicQuantizeMatMul" && n.Domain == OnnxDomains.Microsoft));
        Assert.DoesNotContain(float32.Initializers, t => t.DataType == OnnxDataType.Int8);
        Assert.DoesNotContain(float32.Nodes, n => n.OpType == "DynamicQuantizeMatMul");
    }

    [Theory]
    [MemberData(nameof(Precisions))]
    public void Onnx_runtime_runs_fused_attention_layer_norm_and_gelu_kernels(string precision)
    {
        using var folder = new TemporaryFolder();
        var optimizedPath = folder.File("optimized.onnx");
        using (OnnxViltClassifier.Load(Folder(precision), options: new OnnxRuntimeOptions { OptimizedModelPath = optimizedPath })) { }

        var optimized = OnnxProtobuf.Read(optimizedPath).Graph.Nodes;
        var counts = optimized.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", counts.OrderByDescending(c => c.Value).Select(c => $"{c.Key} {c.Value}")));
        var layers = ExportedViltTiny.Config.NumHiddenLayers;

        Assert.Equal(layers, counts.GetValueOrDefault(precision == "int8" ? "MultiHeadAttention" : "Attention"));
        Assert.Equal(2 * layers - 2, counts.GetValueOrDefault("SkipLayerNormalization"));
        Assert.Equal(layers, counts.GetValueOrDefault("BiasGelu") + counts.GetValueOrDefault("Gelu") - 1);
        foreach (var unfused in new[] { "Softmax", "Erf", "ReduceMean", "Pow", "Sqrt" })
            Assert.False(counts.ContainsKey(unfused), $"the optimized graph still computes {unfused}");
    }

    [Theory]
    [InlineData(18, 8)]
    [InlineData(19, 9)]
    [InlineData(20, 9)]
    [InlineData(21, 10)]
    public void Every_supported_opset_gives_a_well_formed_file_with_the_same_logits(int opset, long irVersion)
    {
        using var folder = new TemporaryFolder();
        OnnxExporter.Export(ViltFixture.ModelFolder, folder.Path, new OnnxExportOptions { Opset = opset });
        var model = OnnxProtobuf.Read(ExportedViltTiny.ModelFile(folder.Path));
        var batchCase = ViltFixture.AllCases(ViltFixture.Manifest).Single(c => c.Images.Length > 1);
        var inputs = OnnxTestData.FixtureInputs(batchCase, folder.Path);

        var logits = OnnxTestData.RunDefault(ExportedViltTiny.ModelFile(folder.Path), inputs);
        var reference = OnnxTestData.RunDefault(ExportedViltTiny.ModelFile(export.Float32), inputs);

        Assert.Empty(OnnxModelChecker.Problems(model));
        Assert.Equal((opset, irVersion), (model.StandardOpset, model.IrVersion));
        Assert.True(OnnxTestData.MaxDifference(reference, logits) <= 1e-6);
    }

    [Fact]
    public void Export_is_deterministic_byte_for_byte()
    {
        using var folder = new TemporaryFolder();
        OnnxExporter.Export(ViltFixture.ModelFolder, folder.Path);

        Assert.Equal(File.ReadAllBytes(ExportedViltTiny.ModelFile(export.Float32)), File.ReadAllBytes(ExportedViltTiny.ModelFile(folder.Path)));
    }

    [Fact]
    public void Export_from_pytorch_model_bin_equals_export_from_safetensors()
    {
        using var model = new TinyModelCopy();
        model.Delete("model.safetensors");
        using var folder = new TemporaryFolder();
        OnnxExporter.Export(model.Path, folder.Path);
        static byte[] GraphBytes(string path) =>
            OnnxProtobuf.ToBytes(OnnxProtobuf.Read(path) with { Metadata = new Dictionary<string, string>() });

        Assert.Equal(GraphBytes(ExportedViltTiny.ModelFile(export.Float32)), GraphBytes(ExportedViltTiny.ModelFile(folder.Path)));
    }

    [Fact]
    public void Written_model_reads_back_equal()
    {
        var bytes = File.ReadAllBytes(ExportedViltTiny.ModelFile(export.Int8));

        var model = OnnxProtobuf.Read(bytes);

        Assert.Equal(bytes, OnnxProtobuf.ToBytes(model));
    }

    private static string Describe(OnnxValueInfo value) =>
        $"{value.Name} {(value.ElementType == OnnxDataType.Float ? "float32" : value.ElementType.ToString().ToLowerInvariant())} " +
        $"[{string.Join(", ", value.Shape!.Select(d => d.ToString()))}]";
}
