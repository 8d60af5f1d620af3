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

    public static Option<bool> AllowEmulatedBfloat16() => new("--allow-emulated-bfloat16")
    {
        Description = "Run --dtype bfloat16 even on a CPU without bfloat16 support (no AVX512_BF16, AMX-BF16, Arm BF16 " +
                      "or AVX-512), where libtorch emulates it orders of magnitude slower than float32",
    };

    public static Option<string> Metric() => new("--metric")
    {
        Description = "official: GT-Vision-Lab/VQA's vqaEval.py as it is today (a013f00, 2021; with ten identical " +
                      "human answers the prediction is compared as given); official-2017: the same file as of 2017 " +
                      "(a4f1afd; the prediction is always normalized), which most published numbers and ports use; " +
                      "normalized: lmms-eval's vqav2 answer treatment",
        DefaultValueFactory = _ => "official",
    };

    /// <summary>The <c>--metric</c> word of a metric, as a command prints it.</summary>
    public static string MetricName(VqaMetric metric) => metric switch
    {
        VqaMetric.Official => "official",
        VqaMetric.Official2017 => "official-2017",
        _ => "normalized",
    };

    /// <summary>One line that says what a metric is, printed beside its numbers.</summary>
    public static string MetricDescription(VqaMetric metric) => metric switch
    {
        VqaMetric.Official => "official (GT-Vision-Lab/VQA vqaEval.py at a013f00, 2021, as Python 2.7 runs it)",
        VqaMetric.Official2017 => "official-2017 (GT-Vision-Lab/VQA vqaEval.py at a4f1afd, 2017, as its Python 3 port runs it)",
        _ => "normalized (lmms-eval's vqav2 answer treatment)",
    };

    // Checked by hand rather than with AcceptOnlyFromAmong, whose message lists every choice on lines of its own.
    public static VqaMetric ParseMetric(string value) => value switch
    {
        "official" => VqaMetric.Official,
        "official-2017" => VqaMetric.Official2017,
        "normalized" => VqaMetric.Normalized,
        _ => throw new CliUsageException($"--metric must be official, official-2017 or normalized (got '{value}')."),
    };

    public static Option<string> OnBadExample() => new Option<string>("--on-bad-example")
    {
        Description = "What a missing, unreadable or malformed example does: fail (stop with an error) or skip (count it)",
        DefaultValueFactory = _ => "fail",
    }.AcceptOnlyFromAmong("fail", "skip");

    public static BadExamplePolicy ParseOnBadExample(string value) =>
        value == "skip" ? BadExamplePolicy.Skip : BadExamplePolicy.Fail;
}
