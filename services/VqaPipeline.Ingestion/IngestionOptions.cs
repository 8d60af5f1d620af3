namespace VqaPipeline.Ingestion;

/// <summary>Limits of the ingestion service (configuration section <c>Ingestion</c>).</summary>
public sealed record IngestionOptions
{
    public const string Section = "Ingestion";

    /// <summary>Largest single image, uploaded, downloaded or inside an archive.</summary>
    public long MaxImageBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Largest total of uncompressed entries one archive may expand to.</summary>
    public long MaxArchiveBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Largest request body (every part of one upload together).</summary>
    public long MaxRequestBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Longest one URL download may take, headers and body.</summary>
    public TimeSpan DownloadTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Lets URL downloads reach loopback, private, link-local, CGNAT and other non-public addresses. Off by default:
    /// a URL ingest must not become a way into the service's own network; turn it on only where images are served
    /// from such addresses on purpose (the local stack, tests).
    /// </summary>
    public bool AllowPrivateNetworkUrls { get; set; }

    /// <summary>Queue of <c>ImagePreprocessed</c> and <c>ImageRejected</c>, which set each image's state.</summary>
    public string ImageOutcomesQueueName { get; set; } = "ingestion-image-outcomes";

    /// <summary>Queue of <c>TrainingRequested</c>, answered with the collection's labels as a dataset.</summary>
    public string TrainingDatasetsQueueName { get; set; } = "ingestion-training-datasets";
}
