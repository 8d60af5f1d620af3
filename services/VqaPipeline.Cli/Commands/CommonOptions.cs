using System.CommandLine;

namespace VqaPipeline.Cli.Commands;

internal static class CommonOptions
{
    /// <summary>The model used when none is named: VQA_MODEL, else the checkpoint Python's VQA pipeline defaults to.</summary>
    public static string DefaultModel =>
        Environment.GetEnvironmentVariable("VQA_MODEL") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : "dandelin/vilt-b32-finetuned-vqa";

    public static Option<string> Model() => new("--model", "-m")
    {
        Description = "A model folder or a Hugging Face Hub id org/name[@revision] (default: $VQA_MODEL or dandelin/vilt-b32-finetuned-vqa)",
        DefaultValueFactory = _ => DefaultModel,
    };

    public static Option<bool> Json() => new("--json") { Description = "Write JSON to stdout (and nothing else)" };

    public static Option<string> Device() => new("--device")
    {
        Description = "cpu, cuda or cuda:N",
        DefaultValueFactory = _ => "cpu",
    };

    public static Option<string> DType() => new Option<string>("--dtype")
    {
        Description = "Compute dtype",
        DefaultValueFactory = _ => "float32",
    }.AcceptOnlyFromAmong("float32", "bfloat16");
}
