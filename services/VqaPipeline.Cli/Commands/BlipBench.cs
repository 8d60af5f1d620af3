using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Pipelines;
using static TorchSharp.torch;

namespace VqaPipeline.Cli.Commands;

/// <summary>One dtype's BLIP figures: an answer alone, its vision share, and five questions sharing one image.</summary>
internal sealed record BlipDTypeResult(string DType, double MillisecondsPerAnswer, double VisionMilliseconds, double VisionShare,
    double MillisecondsPerAnswerOfFive, double QuestionsPerSecondOfFive);

internal sealed record BlipBenchReport(string Device, int Threads, int Cores, int Iterations, string LoadAverageBefore,
    string LoadAverageAfter, string Image, int NewTokens, long Parameters, BlipDTypeResult[] Results) 
{
    /// <summary>The CPU beside the figures, which decide them.</summary>
    public CpuReport Cpu { get; init; } = CpuReport.Of(CpuCapabilities.Current);
}

/// <summary>
/// <c>vqa bench --family blip</c>: a BLIP with the dimensions of <c>Salesforce/blip-vqa-base</c> (385M parameters) and
/// random weights answers with 3 new tokens, as the Python baseline was timed: one question per image, the vision
/// tower alone, and 5 questions sharing one image's vision pass.
/// </summary>
internal sealed class BlipBench(CliConsole console, Device device, string imagePath, int iterations, CancellationToken cancellationToken)
{
    internal const int NewTokens = 3;
    internal const int QuestionsPerImage = 5;

    private static readonly string[] Questions =
        ["What is in the picture?", "What color is the sky?", "How many people are there?", "Is it daytime?", "What is flying?"];

    /// <summary>Salesforce/blip-vqa-base: ViT-B/16 at 384 pixels, 12-layer BERT-base encoder and decoder (12 heads).</summary>
    internal static BlipConfig BlipVqaBaseConfig() => new()
    {
        Architectures = ["BlipForQuestionAnswering"],
        TextConfig = new BlipTextConfig { NumAttentionHeads = 12 },
        VisionConfig = new BlipVisionConfig(),
    };

    public BlipBenchReport Run(IReadOnlyList<ScalarType> dtypes)
    {
        var loadBefore = LoadAverage();
        var folder = Directory.CreateTempSubdirectory("vqa-bench-blip-").FullName;
        try
        {
            console.Log($"writing a random BLIP-VQA-base to {folder}");
            var config = BlipVqaBaseConfig();
            var bytes = RandomCheckpoint.Write(folder, config, () => new BlipForQuestionAnswering(config), ScalarType.Float32);
            foreach (var file in new[] { "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json" })
                File.Copy(BenchCommand.FixturePath("blip-vqa-tiny", file), Path.Combine(folder, file));
            File.WriteAllText(Path.Combine(folder, "preprocessor_config.json"), JsonSerializer.Serialize(new BlipImageProcessorConfig()));
            var image = new ImageLoader().LoadFile(imagePath);
            var results = dtypes.Select(dtype => Measure(folder, dtype, image)).ToArray();
            return new BlipBenchReport(device.ToString(), torch.get_num_threads(), Environment.ProcessorCount, iterations, loadBefore,
                LoadAverage(), Path.GetFileName(imagePath), NewTokens, bytes / 4, results);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private BlipDTypeResult Measure(string folder, ScalarType dtype, RgbImage image)
    {
        var name = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32";
        using var engine = VqaEngine.FromPretrained(folder, new VqaEngineOptions
        {
            Device = device.type == DeviceType.CUDA ? $"cuda:{device.index}" : "cpu",
            DType = name,
            BatchSize = QuestionsPerImage,
        });
        var options = new GenerationOptions { MaxNewTokens = NewTokens };
        console.Log($"{name}: one answer");
        var answer = SecondsPerCall(() => engine.Generate(image, [Questions[0]], options));
        console.Log($"{name}: vision tower");
        var vision = SecondsPerCall(() => engine.EncodeImage(image).Dispose());
        console.Log($"{name}: {QuestionsPerImage} questions about one image");
        var five = SecondsPerCall(() => engine.Generate(image, Questions, options));
        return new BlipDTypeResult(name, answer * 1000, vision * 1000, vision / answer, five * 1000 / QuestionsPerImage,
            QuestionsPerImage / five);
    }

    /// <summary>Mean seconds per call over the timed calls, after one untimed warm-up call.</summary>
    private double SecondsPerCall(Action call)
    {
        call();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            call();
        }
        return watch.Elapsed.TotalSeconds / iterations;
    }

    internal static void WriteTable(TextWriter output, BlipBenchReport report)
    {
        output.WriteLine($"BLIP-VQA-base dimensions (random weights, {report.Parameters:N0} parameters), {report.Image}, " +
                         $"{report.NewTokens} new tokens per answer");
        output.WriteLine($"CPU: {report.Cpu.Model}; vector extensions: {string.Join(", ", report.Cpu.VectorExtensions)}; " +
                         $"bfloat16 {report.Cpu.Bfloat16}");
        output.WriteLine($"{report.Device}, {report.Threads} libtorch threads, {report.Cores} cores, {report.Iterations} iterations; " +
                         $"load average {report.LoadAverageBefore} before, {report.LoadAverageAfter} after");
        output.WriteLine();
        output.WriteLine($"{"",-34}{string.Concat(report.Results.Select(r => $"{r.DType,12}"))}");
        void Row(string label, Func<BlipDTypeResult, double> value, string format) =>
            output.WriteLine($"{label,-34}{string.Concat(report.Results.Select(r => value(r).ToString(format, CultureInfo.InvariantCulture).PadLeft(12)))}");
        Row("one answer, ms", r => r.MillisecondsPerAnswer, "F0");
        Row("vision tower, ms", r => r.VisionMilliseconds, "F0");
        Row("vision share of one answer", r => r.VisionShare, "P0");
        Row($"{QuestionsPerImage} questions per image, ms/answer", r => r.MillisecondsPerAnswerOfFive, "F0");
        Row($"{QuestionsPerImage} questions per image, questions/s", r => r.QuestionsPerSecondOfFive, "F2");
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
