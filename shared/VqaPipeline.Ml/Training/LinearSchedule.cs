namespace VqaPipeline.Ml.Training;

/// <summary>
/// transformers' <c>get_linear_schedule_with_warmup</c>: the learning rate rises linearly from 0 over the warm-up
/// steps, then falls linearly to 0 at the last step.
/// </summary>
public sealed record LinearSchedule(double BaseLearningRate, int WarmupSteps, int TotalSteps)
{
    /// <summary>The learning rate of optimizer step <paramref name="step"/> (0 for the first step).</summary>
    public double LearningRate(int step)
    {
        if (step < WarmupSteps) return BaseLearningRate * step / Math.Max(1, WarmupSteps);
        return BaseLearningRate * Math.Max(0.0, (double)(TotalSteps - step) / Math.Max(1, TotalSteps - WarmupSteps));
    }
}
