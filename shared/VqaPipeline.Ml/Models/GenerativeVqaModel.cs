using TorchSharp;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Generation;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Pipelines;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models;

/// <summary>
/// What BLIP and BLIP-2 share as <see cref="IGenerativeVqaModel"/>s on TorchSharp: the image is encoded once; its
/// questions are answered in batches (rows whose generation settings agree), each row as it would be answered alone;
/// candidate answers are scored by teacher forcing.
/// </summary>
internal abstract class GenerativeVqaModel : IGenerativeVqaModel
{
    private const string QuestionSlot = "{question}";
    private readonly BlipImageProcessor imageProcessor;
    private readonly int batchSize;

    protected GenerativeVqaModel(nn.Module module, BlipImageProcessor imageProcessor, Device device, ScalarType dtype,
        LoadReport report, string modelFolder, int batchSize)
    {
        Module = module;
        this.imageProcessor = imageProcessor;
        Device = device;
        DType = dtype;
        this.batchSize = batchSize;
        LoadWarning = report.IsComplete ? null : report.Describe(module.GetName(), modelFolder);
    }

    protected nn.Module Module { get; }

    protected Device Device { get; }

    protected ScalarType DType { get; }

    public abstract string ModelType { get; }

    public string? LoadWarning { get; }

    /// <summary>The prompt used when <see cref="GenerationOptions.Prompt"/> is null.</summary>
    protected abstract string DefaultPrompt { get; }

    /// <summary>The image stages for pixel_values (1, 3, H, W): what every question of the image starts from.</summary>
    protected abstract Tensor EncodePixels(Tensor pixelValues);

    /// <summary>The prompt's token ids, cut to the model's text positions; true when cut.</summary>
    protected abstract (long[] Ids, bool Truncated) PromptIds(string prompt);

    /// <summary>A decoder over one row per prompt, all about the image whose state is <paramref name="imageState"/>.</summary>
    protected abstract IAutoregressiveDecoder StartDecoder(Tensor imageState, IReadOnlyList<long[]> prompts);

    /// <summary>The generation settings for a prompt of <paramref name="promptLength"/> ids; throws when they cannot fit.</summary>
    protected abstract GenerationSettings Settings(int promptLength, GenerationOptions options);

    /// <summary>A candidate answer as the model would write it, end-of-sequence included.</summary>
    protected abstract long[] CandidateIds(string candidate);

    /// <summary>Generated ids as text: special tokens skipped, whitespace stripped.</summary>
    protected abstract string Decode(IReadOnlyList<long> ids);

    public IEncodedImage Encode(RgbImage image)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var batch = imageProcessor.Preprocess([image]);
        var pixels = tensor(batch.PixelValues, [1, 3, batch.Height, batch.Width], device: Device).to(DType);
        return new EncodedImage(this, EncodePixels(pixels).MoveToOuterDisposeScope());
    }

    public IReadOnlyList<GeneratedAnswer> Answer(IEncodedImage image, IReadOnlyList<string> questions, GenerationOptions options)
    {
        var state = StateOf(image);
        Validate(options);
        var prompts = questions.Select(q => PromptIds(Fill(options.Prompt ?? DefaultPrompt, q))).ToArray();
        var settings = prompts.Select(p => Settings(p.Ids.Length, options)).ToArray();
        var results = new GeneratedAnswer[questions.Count];
        using var inference = inference_mode();
        // Rows decode together when their settings agree (BLIP-2's default length depends on the prompt's).
        foreach (var group in Enumerable.Range(0, questions.Count).GroupBy(i => (settings[i].MaxLength, settings[i].MinLength)))
            foreach (var chunk in group.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var rows = zeros(chunk.Length, dtype: int64, device: Device);
                using var decoder = StartDecoder(state.index_select(0, rows), chunk.Select(i => prompts[i].Ids).ToArray());
                var generated = SequenceGenerator.Generate(decoder, settings[chunk[0]]);
                for (var j = 0; j < chunk.Length; j++)
                {
                    var i = chunk[j];
                    var text = Decode(generated[j].Ids);
                    results[i] = new GeneratedAnswer(questions[i], text, generated[j].Score, generated[j].MeanLogProbability,
                        generated[j].Ids, CandidatesFor(state, prompts[i].Ids, text, options), prompts[i].Truncated);
                }
            }
        return results;
    }

    public IReadOnlyDictionary<string, double> ScoreCandidates(IEncodedImage image, string question,
        IReadOnlyList<string> candidates, GenerationOptions options)
    {
        var state = StateOf(image);
        Validate(options);
        return Score(state, PromptIds(Fill(options.Prompt ?? DefaultPrompt, question)).Ids, candidates);
    }

    private IReadOnlyDictionary<string, double> CandidatesFor(Tensor state, long[] prompt, string answer, GenerationOptions options)
    {
        var wanted = options.Candidates.ToList();
        var normalized = answer.Trim().ToLowerInvariant();
        if (options.ScoreYesNo && normalized is "yes" or "no")
            wanted.AddRange(["yes", "no"]);
        return wanted.Count == 0 ? new Dictionary<string, double>() : Score(state, prompt, wanted.Distinct().ToArray());
    }

    private Dictionary<string, double> Score(Tensor state, long[] prompt, IReadOnlyList<string> candidates)
    {
        if (candidates.Count == 0) return new Dictionary<string, double>();
        if (candidates.Any(string.IsNullOrWhiteSpace))
            throw new InvalidGenerationOptionsException("a candidate answer is empty.");
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var distinct = candidates.Distinct().ToArray();
        using var rows = zeros(distinct.Length, dtype: int64, device: Device);
        using var decoder = StartDecoder(state.index_select(0, rows), distinct.Select(_ => prompt).ToArray());
        var sums = SequenceScorer.SumLogProbabilities(decoder, distinct.Select(CandidateIds).ToArray());
        return distinct.Select((candidate, i) => (candidate, Math.Exp(sums[i]))).ToDictionary(p => p.candidate, p => p.Item2);
    }

    private static void Validate(GenerationOptions options)
    {
        if (options.NumBeams < 1)
            throw new InvalidGenerationOptionsException($"the number of beams must be at least 1 (got {options.NumBeams}).");
        if (options.MaxNewTokens is < 1)
            throw new InvalidGenerationOptionsException($"max new tokens must be at least 1 (got {options.MaxNewTokens}).");
        if (options.Prompt is { } prompt && !prompt.Contains(QuestionSlot, StringComparison.Ordinal))
            throw new InvalidGenerationOptionsException($"the prompt '{prompt}' has no {QuestionSlot} for the question to go in.");
    }

    private static string Fill(string prompt, string question) => prompt.Replace(QuestionSlot, question, StringComparison.Ordinal);

    private Tensor StateOf(IEncodedImage image) =>
        image is EncodedImage encoded && ReferenceEquals(encoded.Owner, this)
            ? encoded.State
            : throw new ArgumentException("the image was encoded by another model.", nameof(image));

    public void Dispose() => Module.Dispose();

    private sealed class EncodedImage(GenerativeVqaModel owner, Tensor state) : IEncodedImage
    {
        public GenerativeVqaModel Owner => owner;

        public Tensor State { get; } = state.DetachFromDisposeScope();

        public void Dispose() => State.Dispose();
    }
}

/// <summary>Builds a model straight in its compute dtype and fills it from a memory-mapped checkpoint.</summary>
internal static class GenerativeModelLoading
{
    /// <summary>
    /// Constructs <typeparamref name="TModule"/> with its parameters allocated in <paramref name="dtype"/> (a float32
    /// draft of a 2.7B model would need twice the memory), loads the folder's weights tensor by tensor (each mapped
    /// page released once copied), then moves the model to <paramref name="device"/> in eval mode.
    /// </summary>
    public static (TModule Module, LoadReport Report) Load<TModule>(string modelFolder, Func<TModule> construct,
        LoadOptions loadOptions, Device device, ScalarType dtype) where TModule : nn.Module
    {
        TModule module;
        using (ModuleAllocation.Use(CPU, dtype))
            module = construct();
        try
        {
            LoadReport report;
            using (var weights = CheckpointReader.ReadFolder(modelFolder))
                report = ModuleWeights.Load(module, weights, loadOptions);
            module.eval();
            module.to(device);
            return (module, report);
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }
}
