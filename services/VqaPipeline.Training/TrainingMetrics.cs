using System.Diagnostics.Metrics;

namespace VqaPipeline.Training;

/// <summary>Training runs' progress, under the meter <c>VqaPipeline.Training</c>.</summary>
public sealed class TrainingMetrics
{
    public const string MeterName = "VqaPipeline.Training";

    private readonly Gauge<double> _loss;

    public TrainingMetrics(IMeterFactory meterFactory) =>
        _loss = meterFactory.Create(MeterName).CreateGauge<double>("vqa.training.loss", null,
            "Latest training loss of a run, by run id (a run whose loss stops falling or turns NaN needs a look).");

    /// <summary>Records <paramref name="runId"/>'s latest loss.</summary>
    public void Loss(Guid runId, double loss) => _loss.Record(loss, new KeyValuePair<string, object?>("run_id", runId.ToString()));
}
