using System.CommandLine;
using System.Globalization;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Onnx;

namespace VqaPipeline.Cli.Commands;

/// <summary><c>vqa export onnx</c>: writes a model folder that ONNX Runtime runs alone (model.onnx + config + tokenizer).</summary>
internal static class ExportCommand
{
    public static Command Create(CliConsole console) =>
        new("export", "Export a model to another format.\n\nExample:\n  vqa export onnx --model ./my-vilt --out ./my-vilt-onnx")
        {
            Onnx(console),
        };

    private static Command Onnx(CliConsole console)
    {
        var model = CommonOptions.Model();
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "The folder to write (created if needed; may be the model's own)", Required = true };
        var opset = new Option<int>("--opset")
        {
            Description = $"Standard ONNX operator set ({OnnxExporter.MinOpset} to {OnnxExporter.MaxOpset})",
            DefaultValueFactory = _ => OnnxExporter.DefaultOpset,
        };
        var quantize = new Option<string?>("--quantize")
        {
            Description = "int8: linear layers with int8 weights, activations quantized at run time (smaller and faster on CPU)",
        };
        var json = CommonOptions.Json();
        var command = new Command("onnx",
            "Write model.onnx, built here from the model's weights (ViLT question answering; no Python involved), with the " +
            "model's config, tokenizer and preprocessor files, so that the folder answers on ONNX Runtime alone " +
            "(`vqa ask --model DIR`).\n\nExamples:\n  vqa export onnx --model ./my-vilt --out ./my-vilt-onnx\n" +
            "  vqa export onnx --model dandelin/vilt-b32-finetuned-vqa --out ./vilt-int8 --quantize int8")
        {
            model, output, opset, quantize, json,
        };

        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var quantization = parse.GetValue(quantize) switch
            {
                null => OnnxQuantization.None,
                "int8" => OnnxQuantization.Int8,
                var other => throw new CliUsageException($"--quantize must be int8 (got '{other}')."),
            };
            var folder = await ModelResolver.ResolveAsync(parse.GetRequiredValue(model), console.Hub, cancellationToken);
            var options = new OnnxExportOptions
            {
                Opset = parse.GetValue(opset),
                Quantization = quantization,
            };
            // The exporter reports nothing while it runs: the summary line says how much it wrote and how fast.
            var progress = console.Progress(parse, "export onnx", ProgressBar.Bytes);
            var result = OnnxExporter.Export(folder, parse.GetRequiredValue(output).FullName, options);
            progress.Report(result.Bytes);
            progress.Finish();
            var precision = options.Quantization == OnnxQuantization.Int8 ? "int8" : "float32";
            if (parse.GetValue(json))
                console.WriteJson(new { model = result.ModelPath, bytes = result.Bytes, opset = options.Opset, precision, files = result.CopiedFiles });
            else
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {result.ModelPath} ({result.Bytes / 1048576.0:0.0} MiB, opset {options.Opset}, {precision}) with {string.Join(", ", result.CopiedFiles)}"));
            return 0;
        });
        return command;
    }
}
