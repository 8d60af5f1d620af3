namespace VqaPipeline.Inference;

/// <summary>Settings of the inference worker (configuration section <c>Inference</c>).</summary>
public sealed record InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Queue of <c>QuestionJobSubmitted</c>.</summary>
    public string JobsQueueName { get; set; } = "inference-question-jobs";

    /// <summary>
    /// Queue of <c>ImageIngested</c>, <c>ImagePreprocessed</c> and <c>ImageRejected</c>: this service's view of the
    /// images, and images that turn up while a job runs.
    /// </summary>
    public string ImagesQueueName { get; set; } = "inference-image-outcomes";

    /// <summary>Queue of <c>ImageBatchRequested</c>; every worker sharing it shares the jobs' images.</summary>
    public string BatchQueueName { get; set; } = "inference-image-batches";

    /// <summary>Images per <c>ImageBatchRequested</c> a job is split into.</summary>
    public int ImagesPerBatch { get; set; } = 8;

    /// <summary>Most batch commands one consume takes together (single-image commands are gathered this way).</summary>
    public int BatchMessageLimit { get; set; } = 2;

    /// <summary>How long the batch consumer waits for more commands before running what it has.</summary>
    public TimeSpan BatchTimeLimit { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Most answers a job may store per image: its questions × top-k. Each is a row of the job's answers and of the
    /// index, for every image of the collection, so the product (not each factor alone) bounds what one job writes.
    /// </summary>
    public int MaxAnswersPerImage { get; set; } = 1000;

    /// <summary>(image, question) pairs per forward pass of the engine.</summary>
    public int EngineBatchSize { get; set; } = 8;

    /// <summary>
    /// Where models run: <c>cpu</c>, or <c>cuda</c> (<c>cuda:N</c>) on ONNX Runtime's CUDA provider in the GPU build
    /// (Dockerfile.gpu); without a GPU the runtime says so once in the log and answers on the CPU.
    /// </summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Intra-op threads of libtorch and ONNX Runtime; null keeps their default (one per core).</summary>
    public int? Threads { get; set; }

    /// <summary>
    /// Whether this instance answers images (runs the engine on image batches); without it, it serves the jobs API and
    /// keeps the jobs' bookkeeping (its view of the images, starting jobs), and workers elsewhere do the answering.
    /// </summary>
    public bool AnswerImages { get; set; } = true;

    /// <summary>Where models from object storage (<c>models/{name}/{version}/</c>) are downloaded to.</summary>
    public string ModelCacheDir { get; set; } = Path.Combine(Path.GetTempPath(), "vqa-inference-models");

    /// <summary>
    /// How long an image of a running job may stay queued (sent for answering, not answered) before the sweeper sends
    /// it again: longer than a batch takes and than the broker's redelivery delays add up to, since a batch waiting in
    /// a delay queue is not lost.
    /// </summary>
    public TimeSpan StuckImageDeadline { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often the sweeper looks for stuck images.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);
}
