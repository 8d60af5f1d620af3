using System.Diagnostics.Metrics;

namespace VqaPipeline.Preprocessing;

/// <summary>Counts outcomes and times each image, under the meter <c>VqaPipeline.Preprocessing</c>.</summary>
public sealed class PreprocessingMetrics
{
    public const string MeterName = "VqaPipeline.Preprocessing";

    private readonly Counter<long> _images;
    private readonly Histogram<double> _duration;

    public PreprocessingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _images = meter.CreateCounter<long>("vqa.preprocessing.images", "{image}", "Images handled, by outcome and (rejected ones) reason.");
        _duration = meter.CreateHistogram<double>("vqa.preprocessing.duration", "s", "Time to preprocess one image.");
    }

    /// <summary>
    /// Counts one image with its <paramref name="outcome"/> and, for a rejected one, the <paramref name="reason"/> it
    /// was rejected for (a failure kind, so that the series stay few); times it.
    /// </summary>
    public void Record(string outcome, string? reason, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        if (reason is null)
            _images.Add(1, tag);
        else
            _images.Add(1, tag, new KeyValuePair<string, object?>("reason", reason));
        _duration.Record(elapsed.TotalSeconds, tag);
    }
}
