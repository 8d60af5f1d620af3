using System.CommandLine;
using System.Diagnostics;
using TorchSharp;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Onnx;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Tokenization;
using static TorchSharp.torch;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// <c>vqa bench</c>: throughput of a ViLT with the dimensions of <c>dandelin/vilt-b32-finetuned-vqa</c> and random
/// weights (nothing is downloaded), set against libtorch's own matmul speed in the same process.
/// </summary>
internal static class BenchCommand
{
    internal const string Question = "What is in the picture here?";
    internal const int MatmulSize = 2048;
    internal static readonly int[] BatchSizes = [1, 8];

    public static Command Create(CliConsole console)
    {
        var image = new Option<string?>("--image") { Description = "Image file (default: rocket.jpg from $VQA_FIXTURES or ../shared/fixtures)" };
        var dtype = new Option<string>("--dtype")
        {
            Description = "Compute dtype to measure (default: both, side by side)",
            DefaultValueFactory = _ => "both",
        }.AcceptOnlyFromAmong("both", "float32", "bfloat16");
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads of libtorch and ONNX Runtime (default: their own choice)" };
        var runtime = new Option<string>("--runtime")
        {
            Description = "torch: libtorch only; onnx: libtorch, then the model exported to ONNX (float32 and int8) on ONNX Runtime",
            DefaultValueFactory = _ => "torch",
        };
        var iterations = new Option<int>("--iterations") { Description = "Timed repetitions of each measurement", DefaultValueFactory = _ => 3 };
        var device = CommonOptions.Device();
        var allowEmulated = CommonOptions.AllowEmulatedBfloat16();
        var json = CommonOptions.Json();
        var family = new Option<string>("--family")
        {
            Description = "vilt: ViLT-B/32 classification; blip: BLIP-VQA-base generation (ms per answer, vision share, 5 questions per image)",
            DefaultValueFactory = _ => "vilt",
        }.AcceptOnlyFromAmong("vilt", "blip");
        var command = new Command("bench",
            "Measure ViLT-B/32 speed on this machine: matmul GFLOP/s, forward GFLOP/s, questions/s end to end, " +
            "preprocessing images/s and peak memory; or, with --family blip, BLIP-VQA-base answers. Uses random weights " +
            "written to a temporary model folder. Prints the CPU model and vector extensions, which decide the figures; " +
            "bfloat16 is measured only where the CPU runs it at speed (the default 'both' then skips it and says why).\n\n" +
            "Examples:\n  vqa bench\n  vqa bench --dtype bfloat16 --threads 2 --iterations 5 --json\n" +
            "  vqa bench --runtime onnx --dtype float32 --iterations 10   (libtorch and ONNX Runtime float32/int8 in one run)\n" +
            "  vqa bench --family blip --threads 2")
        {
            image, dtype, threads, iterations, device, allowEmulated, json, runtime, family,
        };

        console.SetAction(command, (parse, cancellationToken) =>
        {
            var withOnnx = parse.GetRequiredValue(runtime) switch
            {
                "torch" => false,
                "onnx" => true,
                var other => throw new CliUsageException($"--runtime must be torch or onnx (got '{other}')."),
            };
            var torchDevice = TorchRuntime.ResolveDevice(parse.GetRequiredValue(device));
            var count = parse.GetValue(iterations);
            if (count < 1) throw new CliUsageException("--iterations must be at least 1.");
            if (parse.GetValue(threads) is int threadCount)
            {
                if (threadCount < 1) throw new CliUsageException("--threads must be at least 1.");
                torch.set_num_threads(threadCount);
            }
            var cpu = CpuCapabilities.Current;
            var allowEmulatedBfloat16 = parse.GetValue(allowEmulated);
            var bfloat16Skipped = parse.GetRequiredValue(dtype) == "both" && !allowEmulatedBfloat16
                ? TorchRuntime.SlowDTypeReason(ScalarType.BFloat16, torchDevice, cpu)
                : null;
            var dtypes = parse.GetRequiredValue(dtype) switch
            {
                "both" when bfloat16Skipped is not null => new[] { ScalarType.Float32 },
                "both" => [ScalarType.Float32, ScalarType.BFloat16],
                var one => [TorchRuntime.ResolveDType(one)],
            };
            foreach (var chosen in dtypes) TorchRuntime.EnsureDTypeRunsAtSpeed(chosen, torchDevice, allowEmulatedBfloat16, cpu);
            if (bfloat16Skipped is not null) console.Log($"bfloat16 not measured: {bfloat16Skipped} (--allow-emulated-bfloat16 measures it anyway)");
            var imagePath = parse.GetValue(image) ?? FixturePath("images", "rocket.jpg");
            if (!File.Exists(imagePath))
                throw new CliUsageException(parse.GetValue(image) is null
                    ? $"fixture image '{imagePath}' does not exist: set VQA_FIXTURES to the shared fixtures folder, or pass --image."
                    : $"image '{imagePath}' does not exist.");
            if (parse.GetRequiredValue(family) == "blip")
            {
                var blip = new BlipBench(console, torchDevice, imagePath, count, cancellationToken).Run(dtypes);
                if (parse.GetValue(json)) console.WriteJson(blip);
                else BlipBench.WriteTable(console.Out, blip);
                return Task.FromResult(0);
            }
            var vocabularyPath = FixturePath("bert-base-uncased-vocab", "vocab.txt");
            if (!File.Exists(vocabularyPath))
                throw new CliUsageException($"'{vocabularyPath}' does not exist: set VQA_FIXTURES to the shared fixtures folder.");

            var onnxPrecisions = withOnnx ? new[] { OnnxQuantization.None, OnnxQuantization.Int8 } : [];
            var report = new BenchRun(console, torchDevice, imagePath, count, parse.GetValue(threads), cancellationToken)
                .Run(dtypes, onnxPrecisions, vocabularyPath, allowEmulatedBfloat16) with { Cpu = CpuReport.Of(cpu), Bfloat16Skipped = bfloat16Skipped };
            if (parse.GetValue(json)) console.WriteJson(report);
            else WriteTable(console.Out, report);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>$VQA_FIXTURES, else <c>../shared/fixtures</c> beside the repository that holds the working directory or this program.</summary>
    internal static string FixturePath(params string[] parts)
    {
        var root = Environment.GetEnvironmentVariable("VQA_FIXTURES") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : new[] { Environment.CurrentDirectory, AppContext.BaseDirectory }
                .Select(FindRepositoryRoot).OfType<string>()
                .Select(repository => Path.GetFullPath(Path.Combine(repository, "..", "shared", "fixtures")))
                .FirstOrDefault(Directory.Exists)
              ?? throw new CliUsageException("no fixtures found: set VQA_FIXTURES to the shared fixtures folder.");
        return Path.Combine([root, .. parts]);
    }

    private static string? FindRepositoryRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "VqaPipeline.sln"))) return directory.FullName;
        return null;
    }

    private static void WriteTable(TextWriter output, BenchReport report)
    {
        output.WriteLine($"ViLT-B/32 dimensions (random weights), {report.Image}: {report.ImageSize} -> pixel_values {report.PixelValuesShape} " +
                         $"({report.Patches} patches), {report.TextTokens} text tokens, sequence {report.SequenceLength}");
        output.WriteLine($"CPU: {report.Cpu.Model}; vector extensions: {string.Join(", ", report.Cpu.VectorExtensions)}; " +
                         $"bfloat16 {report.Cpu.Bfloat16}");
        output.WriteLine($"{report.Device}, {report.Threads} libtorch threads, {report.Cores} cores, {report.Iterations} iterations; " +
                         $"load average {report.LoadAverageBefore} before, {report.LoadAverageAfter} after");
        if (report.Bfloat16Skipped is { } skipped) output.WriteLine($"bfloat16 not measured: {skipped}");
        output.WriteLine($"forward = {report.ForwardGflop:F2} GFLOP per question");
        output.WriteLine();
        var columns = report.Results;
        output.WriteLine($"{"",-34}" + string.Concat(columns.Select(c => $"{c.Runtime,14}")));
        output.WriteLine($"{"",-34}" + string.Concat(columns.Select(c => $"{c.Dtype,14}")));
        void Row(string name, Func<DTypeResult, string> cell) =>
            output.WriteLine($"{name,-34}" + string.Concat(columns.Select(c => $"{cell(c),14}")));
        Row($"libtorch matmul {MatmulSize}x{MatmulSize} GFLOP/s", c => $"{c.MatmulGflops:F1}");
        foreach (var batch in BatchSizes)
        {
            Row($"forward batch {batch} GFLOP/s", c => $"{c.Forward[batch].Gflops:F1}");
            Row("  share of matmul", c => $"{c.Forward[batch].ShareOfMatmul * 100:F0}%");
            Row($"  ms per forward", c => $"{c.Forward[batch].Milliseconds:F0}");
        }
        foreach (var batch in BatchSizes)
            Row($"end to end batch {batch} questions/s", c => $"{c.QuestionsPerSecond[batch]:F2}");
        void Speedup(string label, DTypeResult? faster, DTypeResult? baseline)
        {
            if (faster is null || baseline is null) return;
            foreach (var batch in BatchSizes)
                output.WriteLine($"{$"{label} forward batch {batch}",-34}{baseline.Forward[batch].Milliseconds / faster.Forward[batch].Milliseconds,14:F2}x");
        }
        DTypeResult? Column(string runtime, string dtype) => columns.FirstOrDefault(c => c.Runtime == runtime && c.Dtype == dtype);
        Speedup("bf16 / fp32", Column("torch", "bfloat16"), Column("torch", "float32"));
        Speedup("onnx fp32 / torch fp32", Column("onnx", "float32"), Column("torch", "float32"));
        Speedup("onnx int8 / onnx fp32", Column("onnx", "int8"), Column("onnx", "float32"));
        output.WriteLine($"{"preprocess images/s sequential",-34}{report.PreprocessSequential,14:F1}");
        output.WriteLine($"{$"preprocess images/s parallel ({report.Cores})",-34}{report.PreprocessParallel,14:F1}");
        output.WriteLine($"{"peak RSS MiB writing the model",-34}{report.PeakRssWritingMiB,14:F0}");
        output.WriteLine($"{"peak RSS MiB measuring",-34}{report.PeakRssMeasuringMiB,14:F0}");
    }
}

internal sealed record ForwardResult(double Milliseconds, double Gflops, double ShareOfMatmul);

/// <summary>One column of the report: a runtime (torch, onnx) at one precision. Shares of matmul are of libtorch's at
/// that dtype (float32 for ONNX Runtime's columns).</summary>
internal sealed record DTypeResult(
    string Runtime, string Dtype, double MatmulGflops, Dictionary<int, ForwardResult> Forward, Dictionary<int, double> QuestionsPerSecond);

/// <summary>The CPU beside the figures: its model, the vector extensions libtorch's kernels depend on, bfloat16 support.</summary>
internal sealed record CpuReport(string Model, string Architecture, IReadOnlyList<string> VectorExtensions, string Bfloat16)
{
    public static CpuReport Of(CpuCapabilities cpu) => new(cpu.Model,
        System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
        cpu.VectorExtensions, cpu.Bfloat16.ToString().ToLowerInvariant());
}

internal sealed record BenchReport(
    string Device, int Threads, int Cores, int Iterations, string LoadAverageBefore, string LoadAverageAfter,
    string Image, string ImageSize, string PixelValuesShape, int Patches, int TextTokens, int SequenceLength, double ForwardGflop,
    DTypeResult[] Results, double PreprocessSequential, double PreprocessParallel,
    double PeakRssWritingMiB, double PeakRssMeasuringMiB)
{
    public CpuReport Cpu { get; init; } = CpuReport.Of(CpuCapabilities.Current);

    /// <summary>Why bfloat16 was left out of a "both" run; null when it was measured or not asked for.</summary>
    public string? Bfloat16Skipped { get; init; }
}

/// <summary>One benchmark run: writes the random model once, then measures each dtype in turn, then each ONNX export.</summary>
internal sealed class BenchRun(CliConsole console, Device device, string imagePath, int iterations, int? threads,
    CancellationToken cancellationToken)
{
    private readonly ImageLoader loader = new();

    public BenchReport Run(IReadOnlyList<ScalarType> dtypes, IReadOnlyList<OnnxQuantization> onnxPrecisions, string vocabularyPath,
        bool allowEmulatedBfloat16)
    {
        var loadBefore = LoadAverage();
        var modelFolder = Directory.CreateTempSubdirectory("vqa-bench-").FullName;
        try
        {
            console.Log($"writing a random ViLT-B/32 to {modelFolder}");
            var config = RandomViltB32.Write(modelFolder, vocabularyPath);
            GC.Collect();
            var peakWriting = PeakRssMiB();
            ResetPeakRss();
            var image = loader.LoadFile(imagePath);
            var processor = ViltImageProcessor.FromPretrained(modelFolder);
            var tokenizer = BertTokenizer.FromPretrained(modelFolder);
            var processed = processor.Preprocess(image);
            var textTokens = tokenizer.Encode(BenchCommand.Question).InputIds.Length;
            var patches = processed.Height / config.PatchSize * (processed.Width / config.PatchSize);
            var forwardFlops = ForwardFlops(config, textTokens, patches);

            var results = dtypes.Select(dtype => MeasureTorch(modelFolder, dtype, tokenizer, processor, forwardFlops, allowEmulatedBfloat16)).ToList();
            if (onnxPrecisions.Count > 0)
            {
                var float32Matmul = results.FirstOrDefault(r => r.Dtype == "float32")?.MatmulGflops ?? MatmulGflops(ScalarType.Float32);
                results.AddRange(onnxPrecisions.Select(precision =>
                    MeasureOnnx(modelFolder, precision, tokenizer, processor, forwardFlops, float32Matmul)));
            }
            var (sequential, parallel) = MeasurePreprocessing(processor);
            return new BenchReport(
                device.ToString(), torch.get_num_threads(), Environment.ProcessorCount, iterations, loadBefore, LoadAverage(),
                Path.GetFileName(imagePath), $"{image.Width}x{image.Height} px", $"3x{processed.Height}x{processed.Width}",
                patches, textTokens, textTokens + patches + 1, forwardFlops / 1e9, results.ToArray(), sequential, parallel,
                peakWriting, PeakRssMiB());
        }
        finally
        {
            Directory.Delete(modelFolder, recursive: true);
        }
    }

    /// <summary>
    /// Multiply-adds count 2 FLOPs. With hidden H, intermediate I, labels C, layers L, T text tokens, P patches of
    /// p×p×3 pixels and sequence N = T + P + 1 (image CLS), one question costs
    /// patch conv 2·P·3p²·H + L·(QKV 6·N·H² + output projection 2·N·H² + scores 2·N²·H + context 2·N²·H + MLP 4·N·H·I)
    /// + pooler 2·H² + classifier (2·H·2H + 2·2H·C). Embedding sums, LayerNorm, softmax and GELU are left out (O(N·H)).
    /// </summary>
    private static double ForwardFlops(ViltConfig config, int textTokens, int patches)
    {
        double h = config.HiddenSize, i = config.IntermediateSize, c = config.NumLabels, n = textTokens + patches + 1;
        double patchPixels = config.NumChannels * config.PatchSize * config.PatchSize;
        var patchConv = 2 * patches * patchPixels * h;
        var layer = 6 * n * h * h + 2 * n * h * h + 2 * n * n * h + 2 * n * n * h + 4 * n * h * i;
        var heads = 2 * h * h + 2 * h * 2 * h + 2 * 2 * h * c;
        return patchConv + config.NumHiddenLayers * layer + heads;
    }

    private DTypeResult MeasureTorch(string modelFolder, ScalarType dtype, BertTokenizer tokenizer,
        ViltImageProcessor processor, double forwardFlops, bool allowEmulatedBfloat16)
    {
        var name = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32";
        console.Log($"torch {name}: matmul");
        var matmul = MatmulGflops(dtype);
        return Measure("torch", name, TorchViltClassifier.Load(modelFolder, device, dtype, allowEmulatedBfloat16), modelFolder, tokenizer, processor,
            forwardFlops, matmul);
    }

    /// <summary>Exports the random model (as <c>vqa export onnx</c> does) and measures it on ONNX Runtime's CPU provider.</summary>
    private DTypeResult MeasureOnnx(string modelFolder, OnnxQuantization precision, BertTokenizer tokenizer,
        ViltImageProcessor processor, double forwardFlops, double float32Matmul)
    {
        var name = precision == OnnxQuantization.Int8 ? "int8" : "float32";
        var exportFolder = Path.Combine(modelFolder, $"onnx-{name}");
        console.Log($"onnx {name}: exporting");
        OnnxExporter.Export(modelFolder, exportFolder, new OnnxExportOptions { Quantization = precision });
        GC.Collect();
        return Measure("onnx", name, OnnxViltClassifier.Load(exportFolder, threads: threads), exportFolder, tokenizer, processor,
            forwardFlops, float32Matmul);
    }

    private DTypeResult Measure(string runtime, string name, IVqaClassifier classifier, string modelFolder, BertTokenizer tokenizer,
        ViltImageProcessor processor, double forwardFlops, double matmul)
    {
        name = $"{runtime} {name}";
        using var pipeline = new VqaEngine(classifier, tokenizer, processor, modelFolder,
            new VqaEngineOptions { BatchSize = BenchCommand.BatchSizes.Max() });

        var forward = new Dictionary<int, ForwardResult>();
        foreach (var batch in BenchCommand.BatchSizes)
        {
            console.Log($"{name}: forward, batch {batch}");
            var inputs = PreparedBatch(tokenizer, processor, batch);
            var seconds = TimePerCall(() => classifier.Logits(inputs));
            var gflops = batch * forwardFlops / seconds / 1e9;
            forward[batch] = new ForwardResult(seconds * 1000, gflops, gflops / matmul);
        }

        var questionsPerSecond = new Dictionary<int, double>();
        foreach (var batch in BenchCommand.BatchSizes)
        {
            console.Log($"{name}: end to end (image file -> answer), batch {batch}");
            var seconds = TimePerCall(() =>
            {
                var queries = Enumerable.Range(0, batch).Select(_ => new VqaQuery(loader.LoadFile(imagePath), BenchCommand.Question)).ToArray();
                return pipeline.Ask(queries, topK: 1);
            });
            questionsPerSecond[batch] = batch / seconds;
        }
        return new DTypeResult(runtime, name[(runtime.Length + 1)..], matmul, forward, questionsPerSecond);
    }

    private ClassifierBatch PreparedBatch(BertTokenizer tokenizer, ViltImageProcessor processor, int batch)
    {
        var encoding = tokenizer.Encode(BenchCommand.Question);
        long[] Repeat(IReadOnlyList<int> row) => Enumerable.Repeat(row, batch).SelectMany(ids => ids.Select(id => (long)id)).ToArray();
        var images = processor.Preprocess(Enumerable.Repeat(loader.LoadFile(imagePath), batch).ToArray());
        return new ClassifierBatch(Repeat(encoding.InputIds), Repeat(encoding.AttentionMask), Repeat(encoding.TokenTypeIds),
            batch, encoding.InputIds.Length, images);
    }

    private double MatmulGflops(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var a = randn(BenchCommand.MatmulSize, BenchCommand.MatmulSize, dtype: dtype, device: device);
        var b = randn(BenchCommand.MatmulSize, BenchCommand.MatmulSize, dtype: dtype, device: device);
        const int perCall = 10;
        var seconds = TimePerCall(() =>
        {
            for (var i = 0; i < perCall; i++) matmul(a, b).Dispose();
            return 0;
        });
        return perCall * 2.0 * BenchCommand.MatmulSize * BenchCommand.MatmulSize * BenchCommand.MatmulSize / seconds / 1e9;
    }

    /// <summary>Mean seconds per call over <see cref="iterations"/> timed calls, after one untimed warm-up call.</summary>
    private double TimePerCall<T>(Func<T> call)
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

    /// <summary>Image file → pixel_values, one image at a time, then one image per core at once.</summary>
    private (double Sequential, double Parallel) MeasurePreprocessing(ViltImageProcessor processor)
    {
        console.Log("preprocessing");
        var images = Math.Max(20, 10 * iterations);
        void PreprocessOne() => processor.Preprocess(loader.LoadFile(imagePath));
        var sequential = TimePerCall(() =>
        {
            for (var i = 0; i < images; i++) PreprocessOne();
            return 0;
        });
        var parallel = TimePerCall(() =>
        {
            Parallel.For(0, images, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, _ => PreprocessOne());
            return 0;
        });
        return (images / sequential, images / parallel);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>Lowers the peak resident set to the current one (Linux's documented <c>clear_refs</c> value 5), so that
    /// the measured peak leaves out the random model's construction.</summary>
    private static void ResetPeakRss()
    {
        const string path = "/proc/self/clear_refs";
        if (File.Exists(path)) File.WriteAllText(path, "5");
    }

    /// <summary>The process's peak resident set (VmHWM), or 0 where /proc is not there.</summary>
    private static double PeakRssMiB()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return 0;
        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }
}
