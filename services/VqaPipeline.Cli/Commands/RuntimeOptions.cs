using System.CommandLine;
using VqaPipeline.Ml.Onnx;
using VqaPipeline.Ml.Pipelines;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// Where and how a command runs the model: <c>--runtime</c>, <c>--threads</c>, and ONNX Runtime's graph optimization
/// level and optimized-model file. Commands add them with <see cref="AddTo"/> and fold them into their engine options.
/// </summary>
internal sealed class RuntimeOptions
{
    // Values are checked by hand rather than with AcceptOnlyFromAmong, whose message lists every choice on lines of its own.
    public Option<string> Runtime { get; } = new("--runtime")
    {
        Description = "auto (ONNX Runtime when the model folder has a model.onnx, else torch), torch or onnx",
        DefaultValueFactory = _ => "auto",
    };

    public Option<int?> Threads { get; } = new("--threads") { Description = "Intra-op threads of the runtime (default: its own choice)" };

    public Option<string> GraphOptimization { get; } = new("--onnx-optimization")
    {
        Description = "ONNX Runtime graph optimization level: disabled, basic, extended or all",
        DefaultValueFactory = _ => "all",
    };

    public Option<FileInfo?> OptimizedModel { get; } = new("--onnx-optimized-model")
    {
        Description = "Save the graph ONNX Runtime optimized to this file (to see which kernels run)",
    };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Runtime, Threads, GraphOptimization, OptimizedModel })
            command.Options.Add(option);
    }

    /// <summary><paramref name="options"/> with this command line's runtime, threads and ONNX Runtime settings.</summary>
    public VqaEngineOptions Apply(ParseResult parse, VqaEngineOptions options) => options with
    {
        Runtime = ParseRuntime(parse.GetRequiredValue(Runtime)),
        Threads = ParseThreads(parse),
        Onnx = new OnnxRuntimeOptions
        {
            GraphOptimization = parse.GetRequiredValue(GraphOptimization) switch
            {
                "disabled" => OnnxGraphOptimization.Disabled,
                "basic" => OnnxGraphOptimization.Basic,
                "extended" => OnnxGraphOptimization.Extended,
                "all" => OnnxGraphOptimization.All,
                var other => throw new CliUsageException($"--onnx-optimization must be disabled, basic, extended or all (got '{other}')."),
            },
            OptimizedModelPath = parse.GetValue(OptimizedModel)?.FullName,
        },
    };

    public int? ParseThreads(ParseResult parse) => parse.GetValue(Threads) switch
    {
        < 1 and var count => throw new CliUsageException($"--threads must be at least 1 (got {count})."),
        var count => count,
    };

    public static VqaRuntime ParseRuntime(string value) => value switch
    {
        "auto" => VqaRuntime.Auto,
        "torch" => VqaRuntime.Torch,
        "onnx" => VqaRuntime.Onnx,
        _ => throw new CliUsageException($"--runtime must be auto, torch or onnx (got '{value}')."),
    };
}
