using System.Diagnostics.Metrics;

namespace VqaPipeline.Ingestion;

/// <summary>Images taken in, under the meter <c>VqaPipeline.Ingestion</c>: the first stage's throughput.</summary>
public sealed class IngestionMetrics
{
    public const string MeterName = "VqaPipeline.Ingestion";

    private readonly Counter<long> _images;

    public IngestionMetrics(IMeterFactory meterFactory) =>
        _images = meterFactory.Create(MeterName).CreateCounter<long>("vqa.ingestion.images", "{image}",
            "Images uploaded or imported, by outcome: ingested (new, sent to preprocessing) or duplicate (already in the collection).");

    /// <summary>Counts one image that became a new image of its collection.</summary>
    public void Ingested() => _images.Add(1, new KeyValuePair<string, object?>("outcome", "ingested"));

    /// <summary>Counts one image its collection already held.</summary>
    public void Duplicate() => _images.Add(1, new KeyValuePair<string, object?>("outcome", "duplicate"));
}
