using static TorchSharp.torch;

namespace VqaPipeline.Ml.Generation;

/// <summary>Teacher forcing: how likely a decoder finds given continuations of its prompt.</summary>
public static class SequenceScorer
{
    /// <summary>
    /// The summed log-probability of each row's continuation (<paramref name="continuations"/>[row], its tokens in
    /// order) after the prompt the decoder holds. Rows may differ in length; a finished row's later steps are ignored.
    /// </summary>
    public static double[] SumLogProbabilities(IAutoregressiveDecoder decoder, IReadOnlyList<long[]> continuations)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        if (continuations.Count != decoder.Rows)
            throw new ArgumentException($"{continuations.Count} continuations for {decoder.Rows} rows.", nameof(continuations));
        if (continuations.Any(c => c.Length == 0))
            throw new ArgumentException("every continuation needs at least one token.", nameof(continuations));
        using var inference = inference_mode();
        var device = decoder is IDeviceDecoder placed ? placed.Device : CPU;
        var sums = new double[decoder.Rows];
        var longest = continuations.Max(c => c.Length);
        Tensor? tokens = null;
        for (var step = 0; step < longest; step++)
        {
            float[] logProbabilities;
            var targets = continuations.Select(c => c[Math.Min(step, c.Length - 1)]).ToArray();
            using (var scope = NewDisposeScope())
            {
                var logits = decoder.NextTokenLogits(tokens).to(ScalarType.Float32).log_softmax(-1);
                logProbabilities = logits.gather(1, tensor(targets, device: device).unsqueeze(1)).squeeze(1).cpu().data<float>().ToArray();
            }
            tokens?.Dispose();
            for (var row = 0; row < sums.Length; row++)
                if (step < continuations[row].Length) sums[row] += logProbabilities[row];
            tokens = step + 1 < longest ? tensor(targets, device: device) : null;
        }
        return sums;
    }
}
