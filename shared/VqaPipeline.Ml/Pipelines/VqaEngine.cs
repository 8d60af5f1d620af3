using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Models.Blip2;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Tokenization;

namespace VqaPipeline.Ml.Pipelines;

/// <summary>
/// Visual question answering with the model family config.json names. A ViLT checkpoint answers like Python's
/// <c>pipeline("visual-question-answering")</c>: sigmoid scores over the answer vocabulary, highest first, batching
/// (image, question) pairs of mixed image sizes and question lengths, which Python's pipeline cannot. A BLIP or BLIP-2
/// checkpoint writes its answer (<see cref="Generate(RgbImage, IReadOnlyList{string}, GenerationOptions?)"/>), running
/// the image stages once for all the questions about an image.
/// </summary>
public sealed class VqaEngine : IDisposable
{
    private readonly IVqaClassifier? classifier;
    private readonly BertTokenizer? tokenizer;
    private readonly ViltImageProcessor? imageProcessor;
    private readonly IGenerativeVqaModel? generator;
    private readonly VqaEngineOptions options;

    public VqaEngine(IVqaClassifier classifier, BertTokenizer tokenizer, ViltImageProcessor imageProcessor,
        string modelFolder, VqaEngineOptions? options = null)
    {
        this.classifier = classifier;
        this.tokenizer = tokenizer;
        this.imageProcessor = imageProcessor;
        this.options = options ?? new VqaEngineOptions();
        ModelFolder = modelFolder;
        if (this.options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BatchSize must be at least 1.");
    }

    /// <summary>An engine over a generative model (BLIP, BLIP-2).</summary>
    public VqaEngine(IGenerativeVqaModel generator, string modelFolder, VqaEngineOptions? options = null)
    {
        this.generator = generator;
        this.options = options ?? new VqaEngineOptions();
        ModelFolder = modelFolder;
        if (this.options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BatchSize must be at least 1.");
    }

    /// <summary>config.json's model_type: "vilt", "blip" or "blip-2".</summary>
    public string ModelType => generator?.ModelType ?? "vilt";

    /// <summary>Whether the model writes its answers (BLIP, BLIP-2) rather than picking them from <see cref="Labels"/>.</summary>
    public bool IsGenerative => generator is not null;

    /// <summary>The local folder the model was loaded from (a snapshot in the Hub cache for Hub ids).</summary>
    public string ModelFolder { get; }

    /// <summary>Null when the checkpoint filled every weight; otherwise transformers' description of what it lacked.</summary>
    public string? LoadWarning => classifier?.LoadWarning ?? generator?.LoadWarning;

    /// <summary>Which runtime answers, on what device and in which precision (e.g. <c>onnxruntime CPU int8</c>).</summary>
    public string Runtime => classifier?.Runtime ?? "torch";

    /// <summary>What the runtime could not do as asked (CUDA requested, CPU used); null when nothing.</summary>
    public string? RuntimeWarning => classifier?.RuntimeWarning;

    /// <summary>The answer vocabulary (empty for a generative model).</summary>
    public IReadOnlyList<string> Labels => classifier?.Labels ?? [];

    /// <summary>Loads a model folder or a Hub id (<c>org/name[@revision]</c>), downloading into the Hub cache if needed.</summary>
    public static VqaEngine FromPretrained(string modelIdOrPath, VqaEngineOptions? options = null) =>
        FromPretrainedAsync(modelIdOrPath, options).GetAwaiter().GetResult();

    /// <inheritdoc cref="FromPretrained"/>
    public static async Task<VqaEngine> FromPretrainedAsync(string modelIdOrPath, VqaEngineOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new VqaEngineOptions();
        var folder = await ModelResolver.ResolveAsync(modelIdOrPath, options.Hub ?? HubOptions.FromEnvironment(), cancellationToken)
            .ConfigureAwait(false);
        switch (ModelConfig.Load(folder))
        {
            case BlipConfig blip:
                return new VqaEngine(BlipGenerativeVqa.Load(folder, blip, TorchDevice(options), TorchDType(options), options.BatchSize),
                    folder, options);
            case Blip2Config blip2:
                return new VqaEngine(Blip2GenerativeVqa.Load(folder, blip2, TorchDevice(options), TorchDType(options), options.BatchSize),
                    folder, options);
        }
        var runtime = ClassifierRuntime.Choose(folder, options);
        var tokenizer = BertTokenizer.FromPretrained(folder);
        var imageProcessor = ViltImageProcessor.FromPretrained(folder);
        var classifier = ClassifierRuntime.Load(runtime, folder, options);
        return new VqaEngine(classifier, tokenizer, imageProcessor, folder, options);
    }

    /// <summary>The device of the generative models, which run on libtorch; threads set as asked.</summary>
    private static TorchSharp.torch.Device TorchDevice(VqaEngineOptions options)
    {
        if (options.Threads is int threads) TorchSharp.torch.set_num_threads(threads);
        return TorchRuntime.ResolveDevice(options.Device);
    }

    /// <summary>The dtype of the generative models; bfloat16 only where the CPU runs it at speed, unless allowed.</summary>
    private static TorchSharp.torch.ScalarType TorchDType(VqaEngineOptions options)
    {
        var dtype = TorchRuntime.ResolveDType(options.DType);
        TorchRuntime.EnsureDTypeRunsAtSpeed(dtype, TorchRuntime.ResolveDevice(options.Device), options.AllowEmulatedBfloat16);
        return dtype;
    }

    /// <summary>Answers one question about one image.</summary>
    public VqaResult Ask(RgbImage image, string question, int topK = 5) => Ask([new VqaQuery(image, question)], topK)[0];

    /// <summary>Loads the image (path, URL, base64 or data URI) and answers the question.</summary>
    public async Task<VqaResult> AskAsync(string image, string question, int topK = 5, CancellationToken cancellationToken = default)
    {
        var loaded = await new ImageLoader(options.Images).LoadAsync(image, cancellationToken).ConfigureAwait(false);
        return Ask(loaded, question, topK);
    }

    /// <summary>Many questions about one image (HF's broadcasting of one image over questions).</summary>
    public IReadOnlyList<VqaResult> Ask(RgbImage image, IReadOnlyList<string> questions, int topK = 5) =>
        Ask(questions.Select(q => new VqaQuery(image, q)).ToArray(), topK);

    /// <summary>One question about many images.</summary>
    public IReadOnlyList<VqaResult> Ask(IReadOnlyList<RgbImage> images, string question, int topK = 5) =>
        Ask(images.Select(i => new VqaQuery(i, question)).ToArray(), topK);

    /// <summary>Answers every (image, question) pair, <see cref="VqaEngineOptions.BatchSize"/> pairs per forward pass.</summary>
    public IReadOnlyList<VqaResult> Ask(IReadOnlyList<VqaQuery> queries, int topK = 5)
    {
        if (topK < 1) throw new ArgumentOutOfRangeException(nameof(topK), "topK must be at least 1.");
        foreach (var query in queries)
            if (string.IsNullOrWhiteSpace(query.Question))
                throw new InvalidQuestionException("the question is empty: ask something about the image.");

        if (generator is not null) return AskGenerative(generator, queries);
        var results = new List<VqaResult>(queries.Count);
        for (var start = 0; start < queries.Count; start += options.BatchSize)
        {
            var chunk = queries.Skip(start).Take(options.BatchSize).ToArray();
            results.AddRange(AskBatch(chunk, Math.Min(topK, classifier!.Labels.Count)));
        }
        return results;
    }

    /// <summary>
    /// Runs a generative model's image stages for <paramref name="image"/>; the result answers any number of questions
    /// with <see cref="Generate(IEncodedImage, IReadOnlyList{string}, GenerationOptions?)"/>. Dispose it when done.
    /// </summary>
    public IEncodedImage EncodeImage(RgbImage image) => RequireGenerator("encoding images for later questions").Encode(image);

    /// <summary>
    /// Writes an answer to each question about an encoded image (<see cref="VqaEngineOptions.Generation"/> when
    /// <paramref name="generation"/> is null). An empty question is answered like any other, as Python does.
    /// </summary>
    public IReadOnlyList<GeneratedAnswer> Generate(IEncodedImage image, IReadOnlyList<string> questions, GenerationOptions? generation = null) =>
        RequireGenerator("writing answers").Answer(image, questions, generation ?? options.Generation);

    /// <summary>Encodes <paramref name="image"/> once and writes an answer to each question about it.</summary>
    public IReadOnlyList<GeneratedAnswer> Generate(RgbImage image, IReadOnlyList<string> questions, GenerationOptions? generation = null)
    {
        using var encoded = EncodeImage(image);
        return Generate(encoded, questions, generation);
    }

    /// <summary>The probability the model gives each candidate answer (its tokens, then end-of-sequence).</summary>
    public IReadOnlyDictionary<string, double> ScoreCandidates(IEncodedImage image, string question, IReadOnlyList<string> candidates,
        GenerationOptions? generation = null) =>
        RequireGenerator("scoring candidate answers").ScoreCandidates(image, question, candidates, generation ?? options.Generation);

    private IGenerativeVqaModel RequireGenerator(string what) =>
        generator ?? throw new UnsupportedModelException(
            $"{what} needs a generative model (BLIP or BLIP-2); '{ModelFolder}' is a ViLT classifier, which picks from its fixed answer list.");

    /// <summary>Generated answers as pipeline-shaped results: one answer with its score; each distinct image encoded once.</summary>
    private List<VqaResult> AskGenerative(IGenerativeVqaModel model, IReadOnlyList<VqaQuery> queries)
    {
        var results = new VqaResult[queries.Count];
        foreach (var group in Enumerable.Range(0, queries.Count).GroupBy(i => queries[i].Image, ReferenceEqualityComparer.Instance))
        {
            var indices = group.ToArray();
            using var encoded = model.Encode((RgbImage)group.Key!);
            var answers = model.Answer(encoded, indices.Select(i => queries[i].Question).ToArray(), options.Generation);
            for (var j = 0; j < indices.Length; j++)
                results[indices[j]] = new VqaResult(answers[j].Question, [new VqaAnswer(answers[j].Answer, (float)answers[j].Score)],
                    answers[j].QuestionTruncated);
        }
        return results.ToList();
    }

    private IEnumerable<VqaResult> AskBatch(IReadOnlyList<VqaQuery> chunk, int topK)
    {
        var classifier = this.classifier!;
        var tokenizer = this.tokenizer!;
        var encodings = chunk.Select(q => tokenizer.Encode(q.Question, maxLength: classifier.MaxTextLength, truncate: true)).ToArray();
        var length = encodings.Max(e => e.InputIds.Length);
        var inputIds = new long[chunk.Count * length];
        var attention = new long[chunk.Count * length];
        var tokenTypes = new long[chunk.Count * length];
        for (var row = 0; row < chunk.Count; row++)
        {
            var encoding = encodings[row];
            for (var t = 0; t < encoding.InputIds.Length; t++)
            {
                inputIds[row * length + t] = encoding.InputIds[t];
                attention[row * length + t] = encoding.AttentionMask[t];
                tokenTypes[row * length + t] = encoding.TokenTypeIds[t];
            }
            for (var t = encoding.InputIds.Length; t < length; t++) inputIds[row * length + t] = tokenizer.PadTokenId;
        }

        var images = imageProcessor!.Preprocess(chunk.Select(q => q.Image).ToArray());
        var logits = classifier.Logits(new ClassifierBatch(inputIds, attention, tokenTypes, chunk.Count, length, images));

        var labels = classifier.Labels;
        for (var row = 0; row < chunk.Count; row++)
        {
            var answers = TopK(logits.AsSpan(row * labels.Count, labels.Count), topK)
                .Select(i => new VqaAnswer(labels[i], Sigmoid(logits[row * labels.Count + i])))
                .ToArray();
            yield return new VqaResult(chunk[row].Question, answers, encodings[row].Truncated);
        }
    }

    private static int[] TopK(ReadOnlySpan<float> logits, int k)
    {
        var order = new int[logits.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var keys = logits.ToArray();
        // Stable descending order, so equal scores keep label order as torch.topk does on CPU for small inputs.
        Array.Sort(order, (a, b) => keys[b] != keys[a] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
        return order[..k];
    }

    private static float Sigmoid(float logit) => (float)(1.0 / (1.0 + Math.Exp(-logit)));

    public void Dispose()
    {
        classifier?.Dispose();
        generator?.Dispose();
    }
}
