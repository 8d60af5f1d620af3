using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Opt;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Blip2;

/// <summary>What loading a checkpoint cost in resident memory.</summary>
/// <param name="WeightBytes">Bytes of weights in the checkpoint.</param>
/// <param name="ResidentBeforeBytes">The process's resident set just before loading.</param>
/// <param name="PeakResidentBytes">The process's peak resident set while loading (VmHWM).</param>
/// <param name="LoadSeconds">Wall time of building and loading the model.</param>
public sealed record LoadMemoryReport(long WeightBytes, long ResidentBeforeBytes, long PeakResidentBytes, double LoadSeconds)
{
    /// <summary>Peak resident memory over the weights' size: 1.0 holds exactly one copy of the weights.</summary>
    public double PeakOverWeights => (double)PeakResidentBytes / WeightBytes;

    /// <summary>The growth of the resident set during loading over the weights' size.</summary>
    public double GrowthOverWeights => (double)(PeakResidentBytes - ResidentBeforeBytes) / WeightBytes;
}

/// <summary>
/// Checks that a BLIP-2 OPT-2.7B checkpoint loads without two copies of its weights: writes one with the real
/// dimensions of <c>Salesforce/blip2-opt-2.7b</c> and random bfloat16 weights (about 7.5 GB), then loads it as the engine
/// does and reads the process's peak resident set. Linux only (reads /proc/self).
/// </summary>
public static class Blip2LoadMemoryCheck
{
    /// <summary>The configuration of <c>Salesforce/blip2-opt-2.7b</c> (EVA ViT-g, the default Q-Former, OPT-2.7B).</summary>
    public static Blip2Config Opt27bConfig() => new()
    {
        Architectures = ["Blip2ForConditionalGeneration"],
        TorchDtype = "bfloat16",
        NumQueryTokens = 32,
        TextConfig = new OptConfig
        {
            HiddenSize = 2560,
            FfnDim = 10240,
            NumHiddenLayers = 32,
            NumAttentionHeads = 32,
            VocabSize = 50272,
            MaxPositionEmbeddings = 2048,
            WordEmbedProjDim = 2560,
            EosTokenId = 50118,
        },
    };

    /// <summary>Writes the random checkpoint into <paramref name="folder"/> (unless it holds one) and measures loading it.</summary>
    public static LoadMemoryReport Run(string folder)
    {
        var config = Opt27bConfig();
        var weightsFile = Path.Combine(folder, "model.safetensors");
        if (!File.Exists(weightsFile))
            RandomCheckpoint.Write(folder, config, () => new Blip2ForConditionalGeneration(config), ScalarType.BFloat16,
                tiedKeys: Blip2ForConditionalGeneration.LoadOptions.TiedWeights.Keys.ToArray());
        long weightBytes;
        using (var weights = Safetensors.Read(weightsFile))
            weightBytes = weights.Values.Sum(t => (long)t.Data.Length);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        ProcessMemory.ResetPeak();
        var before = ProcessMemory.ResidentBytes();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (model, report) = GenerativeModelLoading.Load(folder, () => new Blip2ForConditionalGeneration(ModelConfig.Load<Blip2Config>(folder)),
            Blip2ForConditionalGeneration.LoadOptions, CPU, ScalarType.BFloat16);
        var seconds = watch.Elapsed.TotalSeconds;
        var peak = ProcessMemory.PeakResidentBytes();
        model.Dispose();
        if (!report.IsComplete)
            throw new InvalidOperationException(report.Describe(nameof(Blip2ForConditionalGeneration), folder));
        return new LoadMemoryReport(weightBytes, before, peak, seconds);
    }
}

/// <summary>The process's resident set from /proc/self/status (Linux).</summary>
public static class ProcessMemory
{
    public static long ResidentBytes() => Field("VmRSS:");

    public static long PeakResidentBytes() => Field("VmHWM:");

    /// <summary>Lowers the peak resident set to the current one (Linux's documented <c>clear_refs</c> value 5).</summary>
    public static void ResetPeak()
    {
        const string path = "/proc/self/clear_refs";
        if (File.Exists(path)) File.WriteAllText(path, "5");
    }

    private static long Field(string name)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) throw new PlatformNotSupportedException("resident memory is read from /proc/self/status (Linux).");
        var line = File.ReadLines(path).First(l => l.StartsWith(name, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }
}
