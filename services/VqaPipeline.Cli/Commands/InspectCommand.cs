using System.CommandLine;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Cli.Commands;

/// <summary><c>vqa inspect MODEL</c>: reads config and weights safely and reports how they load, like HF's warnings.</summary>
internal static class InspectCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "A model folder or a Hub id org/name[@revision]" };
        var strict = new Option<bool>("--strict") { Description = "Fail if any weight is missing, unexpected or mismatched" };
        var json = CommonOptions.Json();
        var command = new Command("inspect",
            "Read a model's config and weights (safetensors, pytorch_model.bin without running code, or shards) and report how they load.\n\n" +
            "Example:\n  vqa inspect ./vilt-tiny --json")
        {
            model, strict, json,
        };
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var folder = await ModelResolver.ResolveAsync(parse.GetRequiredValue(model), console.Hub, cancellationToken);
            var config = ModelConfig.Load(folder);
            if (config is not ViltConfig vilt)
                throw new UnsupportedModelException($"model_type '{config.ModelType}' cannot be inspected yet (vilt can).");

            using var weights = CheckpointReader.ReadFolder(folder);
            using var module = new ViltForQuestionAnswering(vilt);
            var report = ModuleWeights.Load(module, weights, new LoadOptions
            {
                BaseModelPrefix = ViltForQuestionAnswering.BaseModelPrefix,
                Strict = parse.GetValue(strict),
            });
            var parameters = weights.Values.Sum(t => t.ElementCount);
            if (parse.GetValue(json))
            {
                console.WriteJson(new
                {
                    folder,
                    modelType = config.ModelType,
                    architectures = config.Architectures,
                    numLabels = config.NumLabels,
                    tensors = weights.Count,
                    parameters,
                    missingKeys = report.MissingKeys,
                    unexpectedKeys = report.UnexpectedKeys,
                    mismatchedKeys = report.MismatchedKeys.Select(m => new { key = m.Key, checkpoint = m.CheckpointShape, model = m.ModelShape }),
                });
            }
            else
            {
                console.Out.WriteLine($"folder        {folder}");
                console.Out.WriteLine($"model_type    {config.ModelType} ({string.Join(", ", config.Architectures ?? [])})");
                console.Out.WriteLine($"layers        {vilt.NumHiddenLayers} × {vilt.HiddenSize} wide, {vilt.NumAttentionHeads} heads, patch {vilt.PatchSize}");
                console.Out.WriteLine($"answers       {config.NumLabels}");
                console.Out.WriteLine($"weights       {weights.Count} tensors, {parameters:N0} parameters");
                console.Out.WriteLine(report.IsComplete ? "load          complete" : report.Describe(nameof(ViltForQuestionAnswering), folder));
            }
            return 0;
        });
        return command;
    }
}
