namespace VqaPipeline.Ingestion;

/// <summary>Limits of the ingestion service (configuration section <c>Ingestion</c>).</summary>
public sealed record IngestionOptions
{
    public const string Section = "Ingestion";

    /// <summary>Largest single image, uploaded, downloaded or inside an archive.</summary>
    public long MaxImageBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Largest total of uncompressed entries one archive may expand to.</summary>
    public long MaxArchiveBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>
    /// Largest body of an upload (every part of one multipart request together); every other route takes the server's
    /// JSON limit (<c>Limits:MaxJsonBodyBytes</c>).
    /// </summary>
    public long MaxRequestBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Most entries (files, folders, links) one zip archive may list; more refuses the upload before any is read.</summary>
    public int MaxArchiveEntries { get; set; } = 10_000;

    /// <summary>Most URLs one <c>POST …/images/urls</c> may give.</summary>
    public int MaxUrlsPerRequest { get; set; } = 1000;

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
