using System.CommandLine;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Cli.Commands;

internal static class CommonOptions
{
    /// <summary>The model used when none is named: VQA_MODEL, else the bundled model, which needs no download.</summary>
    public static string DefaultModel =>
        Environment.GetEnvironmentVariable("VQA_MODEL") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : BundledModels.Default;

    public static Option<string> Model() => new("--model", "-m")
    {
        Description = $"A model folder, a Hugging Face Hub id org/name[@revision] or a bundled model's name (default: $VQA_MODEL, else the bundled {BundledModels.Default}, trained on synthetic shape scenes)",
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

    public static Option<string> Metric() => new("--metric")
    {
        Description = "official: GT-Vision-Lab/VQA's vqaEval.py; normalized: lmms-eval's vqav2 answer treatment",
        DefaultValueFactory = _ => "official",
    };

    // Checked by hand rather than with AcceptOnlyFromAmong, whose message lists every choice on lines of its own.
    public static VqaMetric ParseMetric(string value) => value switch
    {
        "official" => VqaMetric.Official,
        "normalized" => VqaMetric.Normalized,
        _ => throw new CliUsageException($"--metric must be official or normalized (got '{value}')."),
    };

    public static Option<string> OnBadExample() => new Option<string>("--on-bad-example")
    {
        Description = "What a missing, unreadable or malformed example does: fail (stop with an error) or skip (count it)",
        DefaultValueFactory = _ => "fail",
    }.AcceptOnlyFromAmong("fail", "skip");

    public static BadExamplePolicy ParseOnBadExample(string value) =>
        value == "skip" ? BadExamplePolicy.Skip : BadExamplePolicy.Fail;
}
