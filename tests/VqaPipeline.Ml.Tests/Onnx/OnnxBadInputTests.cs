using VqaPipeline.Ml.Onnx;
using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Cli;

namespace VqaPipeline.Ml.Tests.Onnx;

/// <summary>Export and ONNX Runtime inputs that cannot work end in one "error:" line and exit code 1.</summary>
public sealed class OnnxBadInputTests(ExportedViltTiny export) : IClassFixture<ExportedViltTiny>, IDisposable
{
    private readonly CliRunner cli = new();
    private readonly TemporaryFolder temp = new();

    public void Dispose()
    {
        cli.Dispose();
        temp.Dispose();
    }

    private static string Image => Fixtures.PathOf("images", "coco_cats.png");

    private Task<CliRun> AskAsync(string model, params string[] more) =>
        cli.RunAsync(["ask", Image, "How many cats are there?", "--model", model, .. more]);

    private Task<CliRun> ExportAsync(string model, params string[] more) =>
        cli.RunAsync(["export", "onnx", "--model", model, "--out", temp.File("out"), .. more]);

    [Fact]
    public async Task Export_of_a_folder_without_weights()
    {
        using var model = new TinyModelCopy();
        model.Delete("model.safetensors");
        model.Delete("pytorch_model.bin");

        (await ExportAsync(model.Path)).AssertInputError("has no weights");
        Assert.False(File.Exists(temp.File("out/model.onnx")));
    }

    [Fact]
    public async Task Export_of_a_blip_model_names_the_family_it_cannot_export() =>
        (await ExportAsync(Fixtures.PathOf("blip-vqa-tiny"))).AssertInputError("ONNX export supports ViLT (model_type 'vilt') only");

    [Fact]
    public async Task Export_of_a_checkpoint_lacking_weights_refuses_to_bake_in_random_values()
    {
        using var model = new TinyModelCopy();
        model.Delete("pytorch_model.bin");
        model.EditConfig(config => config["num_hidden_layers"] = (int)config["num_hidden_layers"]! + 1);

        (await ExportAsync(model.Path)).AssertInputError("an export would bake in random values");
    }

    [Theory]
    [InlineData("12")]
    [InlineData("22")]
    public async Task Export_with_an_opset_out_of_range(string opset) =>
        (await ExportAsync(Fixtures.PathOf("vilt-tiny"), "--opset", opset)).AssertInputError($"opset {opset} is not supported");

    [Fact]
    public async Task Export_with_an_unknown_quantization() =>
        (await ExportAsync(Fixtures.PathOf("vilt-tiny"), "--quantize", "int4")).AssertInputError("--quantize must be int8 (got 'int4')");

    [Fact]
    public async Task Model_onnx_with_other_input_names()
    {
        using var model = new TinyModelCopy();
        var builder = new OnnxGraphBuilder();
        var x = builder.Input("x", OnnxDataType.Float, "n");
        builder.Output(builder.Op("Relu", [x]), "logits", OnnxDataType.Float, "n");
        OnnxProtobuf.Write(new OnnxModel(8, [new OnnxOpsetImport("", 17)], "test", "", builder.Build("other"),
            new Dictionary<string, string>()), model.File("model.onnx"));

        (await AskAsync(model.Path, "--runtime", "onnx")).AssertInputError("takes inputs (x float32), not a ViLT export's (input_ids int64");
    }

    [Fact]
    public async Task Truncated_onnx_file()
    {
        using var model = new TinyModelCopy();
        var bytes = File.ReadAllBytes(ExportedViltTiny.ModelFile(export.Float32));
        File.WriteAllBytes(model.File("model.onnx"), bytes[..(bytes.Length / 2)]);

        (await AskAsync(model.Path)).AssertInputError("ONNX Runtime cannot load");
    }

    [Fact]
    public async Task Runtime_onnx_for_a_folder_without_model_onnx() =>
        (await AskAsync(Fixtures.PathOf("vilt-tiny"), "--runtime", "onnx")).AssertInputError("has no model.onnx");

    [Fact]
    public async Task Runtime_torch_for_an_export_without_weights() =>
        (await AskAsync(export.Float32, "--runtime", "torch")).AssertInputError("has no weights");

    [Fact]
    public async Task Bfloat16_on_onnx_runtime() =>
        (await AskAsync(export.Float32, "--runtime", "onnx", "--dtype", "bfloat16")).AssertInputError("runs on the torch runtime only");

    [Fact]
    public async Task Zero_threads() =>
        (await AskAsync(export.Float32, "--threads", "0")).AssertInputError("--threads must be at least 1");

    [Fact]
    public async Task Unknown_runtime() =>
        (await AskAsync(export.Float32, "--runtime", "tensorrt")).AssertInputError("--runtime must be auto, torch or onnx (got 'tensorrt')");

    [Fact]
    public async Task Unknown_graph_optimization_level() =>
        (await AskAsync(export.Float32, "--onnx-optimization", "max")).AssertInputError("--onnx-optimization must be disabled, basic, extended or all (got 'max')");

    [Fact]
    public async Task Unknown_device_on_onnx_runtime() =>
        (await AskAsync(export.Float32, "--device", "tpu")).AssertInputError("unknown device 'tpu'");
}
