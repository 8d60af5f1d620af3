using System.Diagnostics.Metrics;

namespace VqaPipeline.Inference;

/// <summary>Images and (image, question) pairs answered and batch durations, under the meter <c>VqaPipeline.Inference</c>.</summary>
public sealed class InferenceMetrics
{
    public const string MeterName = "VqaPipeline.Inference";

    private readonly Counter<long> _images;
    private readonly Counter<long> _pairs;
    private readonly Histogram<double> _batchDuration;
    private readonly Counter<long> _resent;

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _images = meter.CreateCounter<long>("vqa.inference.images", "{image}", "Images handled, by outcome.");
        _pairs = meter.CreateCounter<long>("vqa.inference.pairs", "{pair}", "(image, question) pairs answered.");
        _batchDuration = meter.CreateHistogram<double>("vqa.inference.batch.duration", "s", "Time to answer one batch, storage to database.");
        _resent = meter.CreateCounter<long>("vqa.inference.sweeper.resent", "{image}",
            "Images of running jobs sent for answering again after waiting past Inference:StuckImageDeadline.");
    }

    public void RecordBatch(int answered, int failed, int pairs, TimeSpan elapsed)
    {
        _images.Add(answered, new KeyValuePair<string, object?>("outcome", "answered"));
        _images.Add(failed, new KeyValuePair<string, object?>("outcome", "failed"));
        _pairs.Add(pairs);
        _batchDuration.Record(elapsed.TotalSeconds);
    }

    /// <summary>Counts <paramref name="images"/> the sweeper sent for answering again.</summary>
    public void RecordResent(int images) => _resent.Add(images);
}
