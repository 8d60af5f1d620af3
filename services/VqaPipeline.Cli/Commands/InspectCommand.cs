using System.CommandLine;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Models.Blip2;
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
            "Examples:\n  vqa inspect ./vilt-tiny --json\n  vqa inspect Salesforce/blip2-opt-2.7b --strict")
        {
            model, strict, json,
        };
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var folder = await ModelResolver.ResolveAsync(parse.GetRequiredValue(model), console.Hub, cancellationToken);
            var config = ModelConfig.Load(folder);
            var strictLoad = parse.GetValue(strict);
            var (module, loadOptions, shape) = config switch
            {
                ViltConfig vilt => ((TorchSharp.torch.nn.Module)new ViltForQuestionAnswering(vilt),
                    new LoadOptions { BaseModelPrefix = ViltForQuestionAnswering.BaseModelPrefix },
                    $"{vilt.NumHiddenLayers} × {vilt.HiddenSize} wide, {vilt.NumAttentionHeads} heads, patch {vilt.PatchSize}"),
                BlipConfig blip => (new BlipForQuestionAnswering(blip), BlipForQuestionAnswering.LoadOptions,
                    $"vision {blip.VisionConfig.NumHiddenLayers} × {blip.VisionConfig.HiddenSize}, text {blip.TextConfig.NumHiddenLayers} × {blip.TextConfig.HiddenSize} (encoder and decoder)"),
                Blip2Config blip2 => (new Blip2ForConditionalGeneration(blip2), Blip2ForConditionalGeneration.LoadOptions,
                    $"vision {blip2.VisionConfig.NumHiddenLayers} × {blip2.VisionConfig.HiddenSize}, Q-Former {blip2.QFormerConfig.NumHiddenLayers} × {blip2.QFormerConfig.HiddenSize} with {blip2.NumQueryTokens} queries, OPT {blip2.TextConfig.NumHiddenLayers} × {blip2.TextConfig.HiddenSize}"),
                _ => throw new UnsupportedModelException($"model_type '{config.ModelType}' cannot be inspected yet."),
            };
            var generative = config is not ViltConfig;

            using var weights = CheckpointReader.ReadFolder(folder);
            using var disposeModule = module;
            var report = ModuleWeights.Load(module, weights, loadOptions with { Strict = strictLoad });
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
                console.Out.WriteLine($"layers        {shape}");
                console.Out.WriteLine(generative ? "answers       generated" : $"answers       {config.NumLabels}");
                console.Out.WriteLine($"weights       {weights.Count} tensors, {parameters:N0} parameters");
                console.Out.WriteLine(report.IsComplete ? "load          complete" : report.Describe(module.GetName(), folder));
            }
            return 0;
        });
        return command;
    }
}
