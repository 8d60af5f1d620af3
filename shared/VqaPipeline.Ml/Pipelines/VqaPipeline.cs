using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Tokenization;

namespace VqaPipeline.Ml.Pipelines;

/// <summary>
/// Visual question answering with a ViLT checkpoint, answering like Python's
/// <c>pipeline("visual-question-answering")</c>: sigmoid scores over the answer vocabulary, highest first.
/// Batches (image, question) pairs of mixed image sizes and question lengths, which Python's pipeline cannot.
/// </summary>
public sealed class VqaPipeline : IDisposable
{
    private readonly IVqaClassifier classifier;
    private readonly BertTokenizer tokenizer;
    private readonly ViltImageProcessor imageProcessor;
    private readonly VqaPipelineOptions options;

    public VqaPipeline(IVqaClassifier classifier, BertTokenizer tokenizer, ViltImageProcessor imageProcessor,
        string modelFolder, VqaPipelineOptions? options = null)
    {
        this.classifier = classifier;
        this.tokenizer = tokenizer;
        this.imageProcessor = imageProcessor;
        this.options = options ?? new VqaPipelineOptions();
        ModelFolder = modelFolder;
        if (this.options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BatchSize must be at least 1.");
    }

    /// <summary>The local folder the model was loaded from (a snapshot in the Hub cache for Hub ids).</summary>
    public string ModelFolder { get; }

    /// <summary>Null when the checkpoint filled every weight; otherwise transformers' description of what it lacked.</summary>
    public string? LoadWarning => classifier.LoadWarning;

    /// <summary>The answer vocabulary.</summary>
    public IReadOnlyList<string> Labels => classifier.Labels;

    /// <summary>Loads a model folder or a Hub id (<c>org/name[@revision]</c>), downloading into the Hub cache if needed.</summary>
    public static VqaPipeline FromPretrained(string modelIdOrPath, VqaPipelineOptions? options = null) =>
        FromPretrainedAsync(modelIdOrPath, options).GetAwaiter().GetResult();

    /// <inheritdoc cref="FromPretrained"/>
    public static async Task<VqaPipeline> FromPretrainedAsync(string modelIdOrPath, VqaPipelineOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new VqaPipelineOptions();
        var folder = await ModelResolver.ResolveAsync(modelIdOrPath, options.Hub ?? HubOptions.FromEnvironment(), cancellationToken)
            .ConfigureAwait(false);
        var device = TorchRuntime.ResolveDevice(options.Device);
        var dtype = TorchRuntime.ResolveDType(options.DType);
        TorchRuntime.EnsureDTypeRunsAtSpeed(dtype, device, options.AllowEmulatedBfloat16);
        if (options.Threads is int threads) TorchSharp.torch.set_num_threads(threads);
        var tokenizer = BertTokenizer.FromPretrained(folder);
        var imageProcessor = ViltImageProcessor.FromPretrained(folder);
        var classifier = TorchViltClassifier.Load(folder, device, dtype, options.AllowEmulatedBfloat16);
        return new VqaPipeline(classifier, tokenizer, imageProcessor, folder, options);
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

    /// <summary>Answers every (image, question) pair, <see cref="VqaPipelineOptions.BatchSize"/> pairs per forward pass.</summary>
    public IReadOnlyList<VqaResult> Ask(IReadOnlyList<VqaQuery> queries, int topK = 5)
    {
        if (topK < 1) throw new ArgumentOutOfRangeException(nameof(topK), "topK must be at least 1.");
        foreach (var query in queries)
            if (string.IsNullOrWhiteSpace(query.Question))
                throw new InvalidQuestionException("the question is empty: ask something about the image.");

        var results = new List<VqaResult>(queries.Count);
        for (var start = 0; start < queries.Count; start += options.BatchSize)
        {
            var chunk = queries.Skip(start).Take(options.BatchSize).ToArray();
            results.AddRange(AskBatch(chunk, Math.Min(topK, classifier.Labels.Count)));
        }
        return results;
    }

    private IEnumerable<VqaResult> AskBatch(IReadOnlyList<VqaQuery> chunk, int topK)
    {
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

        var images = imageProcessor.Preprocess(chunk.Select(q => q.Image).ToArray());
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

    public void Dispose() => classifier.Dispose();
}
