using TorchSharp;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Generation;

/// <summary>
/// Greedy and beam search as transformers 4.40.2's <c>generate</c> does them (<c>_greedy_search</c>,
/// <c>_beam_search</c> with <c>BeamSearchScorer</c>), over any <see cref="IAutoregressiveDecoder"/>. Rows of a batch
/// never influence one another: each row's result equals the one it gets alone.
/// </summary>
public static class SequenceGenerator
{
    /// <summary>Runs greedy search (<c>NumBeams</c> 1) or beam search on every row of <paramref name="decoder"/>.</summary>
    public static IReadOnlyList<GeneratedSequence> Generate(IAutoregressiveDecoder decoder, GenerationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.NumBeams < 1) throw new ArgumentOutOfRangeException(nameof(settings), "NumBeams must be at least 1.");
        if (settings.MaxLength <= settings.PromptIds.Count)
            throw new ArgumentOutOfRangeException(nameof(settings),
                $"MaxLength {settings.MaxLength} leaves no room to generate after {settings.PromptIds.Count} prompt ids.");
        using var inference = inference_mode();
        return settings.NumBeams == 1 ? Greedy(decoder, settings) : BeamSearch(decoder, settings);
    }

    private static IReadOnlyList<GeneratedSequence> Greedy(IAutoregressiveDecoder decoder, GenerationSettings settings)
    {
        var rows = decoder.Rows;
        var sequences = Enumerable.Range(0, rows).Select(_ => new List<long>(settings.PromptIds)).ToArray();
        var finished = new bool[rows];
        var logProbabilities = new double[rows];
        var generated = new int[rows];
        var length = settings.PromptIds.Count;
        Tensor? tokens = null;
        while (true)
        {
            long[] chosen;
            float[] chosenLogProbabilities;
            using (var scope = NewDisposeScope())
            {
                var logits = decoder.NextTokenLogits(tokens).to(ScalarType.Float32);
                var logSoftmax = logits.log_softmax(-1);
                var processed = ForbidEndBeforeMinimum(logits, settings, length);
                var next = processed.argmax(-1);
                chosen = next.cpu().data<long>().ToArray();
                chosenLogProbabilities = logSoftmax.gather(1, next.unsqueeze(1)).squeeze(1).cpu().data<float>().ToArray();
            }
            tokens?.Dispose();
            for (var row = 0; row < rows; row++)
            {
                if (finished[row])
                {
                    chosen[row] = settings.PadTokenId;
                    continue;
                }
                sequences[row].Add(chosen[row]);
                logProbabilities[row] += chosenLogProbabilities[row];
                generated[row]++;
                finished[row] = chosen[row] == settings.EosTokenId;
            }
            length++;
            if (length >= settings.MaxLength || finished.All(f => f)) break;
            tokens = tensor(chosen).to(DeviceOf(decoder));
        }
        return Enumerable.Range(0, rows).Select(row => new GeneratedSequence(sequences[row].ToArray(),
            Math.Exp(logProbabilities[row]), logProbabilities[row] / generated[row], generated[row])).ToArray();
    }

    private static IReadOnlyList<GeneratedSequence> BeamSearch(IAutoregressiveDecoder decoder, GenerationSettings settings)
    {
        int batch = decoder.Rows, beams = settings.NumBeams;
        var promptLength = settings.PromptIds.Count;
        using (var expand = arange(batch, dtype: ScalarType.Int64).repeat_interleave(beams).to(DeviceOf(decoder)))
            decoder.SelectRows(expand);

        var hypotheses = Enumerable.Range(0, batch).Select(_ => new BeamHypotheses(beams, settings)).ToArray();
        var done = new bool[batch];
        // Only the first beam of a row starts live; the others begin at -1e9 so the first step does not pick copies.
        var beamScores = new float[batch * beams];
        for (var i = 0; i < beamScores.Length; i++) beamScores[i] = i % beams == 0 ? 0f : -1e9f;
        var beamTokens = Enumerable.Range(0, batch * beams).Select(_ => new List<long>(settings.PromptIds)).ToArray();
        var length = promptLength;
        Tensor? tokens = null;
        while (true)
        {
            int vocabulary;
            float[] topScores;
            long[] topIndices;
            var candidates = 2 * beams;
            using (var scope = NewDisposeScope())
            {
                var logits = decoder.NextTokenLogits(tokens).to(ScalarType.Float32);
                vocabulary = (int)logits.shape[1];
                var processed = ForbidEndBeforeMinimum(logits.log_softmax(-1), settings, length);
                var scores = processed.add(tensor(beamScores, device: processed.device).unsqueeze(1))
                    .view(batch, beams * vocabulary);
                var (values, indices) = scores.topk(candidates, dim: 1, largest: true, sorted: true);
                topScores = values.cpu().data<float>().ToArray();
                topIndices = indices.cpu().data<long>().ToArray();
            }
            tokens?.Dispose();
            length++;

            var nextScores = new float[batch * beams];
            var nextTokens = new long[batch * beams];
            var nextSources = new long[batch * beams];
            for (var item = 0; item < batch; item++)
            {
                if (done[item])
                {
                    for (var b = 0; b < beams; b++)
                    {
                        nextTokens[item * beams + b] = settings.PadTokenId;
                        nextSources[item * beams + b] = item * beams;
                    }
                    continue;
                }
                var kept = 0;
                for (var rank = 0; rank < candidates && kept < beams; rank++)
                {
                    var flat = topIndices[item * candidates + rank];
                    var token = flat % vocabulary;
                    var source = item * beams + (int)(flat / vocabulary);
                    var score = topScores[item * candidates + rank];
                    if (token == settings.EosTokenId)
                    {
                        // An end-of-sequence outside the top num_beams candidates is not a finished hypothesis.
                        if (rank >= beams) continue;
                        hypotheses[item].Add(beamTokens[source].ToArray(), score, length - promptLength, endedByEos: true);
                        continue;
                    }
                    var slot = item * beams + kept++;
                    nextScores[slot] = score;
                    nextTokens[slot] = token;
                    nextSources[slot] = source;
                }
                if (kept < beams)
                    throw new InvalidOperationException("beam search found fewer continuations than beams.");
                var best = topScores[item * candidates];
                done[item] = hypotheses[item].IsDone(best, length - promptLength, settings.MaxLength - promptLength);
            }

            beamTokens = Enumerable.Range(0, batch * beams)
                .Select(slot => new List<long>(beamTokens[nextSources[slot]]) { nextTokens[slot] }).ToArray();
            beamScores = nextScores;
            if (length >= settings.MaxLength || done.All(d => d)) break;
            using (var order = tensor(nextSources).to(DeviceOf(decoder)))
                decoder.SelectRows(order);
            tokens = tensor(nextTokens).to(DeviceOf(decoder));
        }

        var results = new GeneratedSequence[batch];
        for (var item = 0; item < batch; item++)
        {
            if (!done[item])
                for (var b = 0; b < beams; b++)
                {
                    var slot = item * beams + b;
                    hypotheses[item].Add(beamTokens[slot].ToArray(), beamScores[slot], beamTokens[slot].Count - promptLength,
                        endedByEos: false);
                }
            var winner = hypotheses[item].Best();
            var ids = winner.EndedByEos && winner.Tokens.Length < settings.MaxLength
                ? [.. winner.Tokens, settings.EosTokenId]
                : winner.Tokens;
            results[item] = new GeneratedSequence(ids, winner.Score, winner.SumLogProbabilities / winner.GeneratedLength,
                ids.Length - promptLength);
        }
        return results;
    }

    /// <summary>transformers' <c>MinLengthLogitsProcessor</c>: end-of-sequence gets -inf while the sequence is too short.</summary>
    private static Tensor ForbidEndBeforeMinimum(Tensor scores, GenerationSettings settings, int length)
    {
        if (length >= settings.MinLength) return scores;
        var copy = scores.clone();
        copy[.., settings.EosTokenId] = float.NegativeInfinity;
        return copy;
    }

    private static Device DeviceOf(IAutoregressiveDecoder decoder) =>
        decoder is IDeviceDecoder placed ? placed.Device : CPU;
}

/// <summary>A decoder whose tensors live on a particular device (the generator sends its token ids there).</summary>
public interface IDeviceDecoder
{
    Device Device { get; }
}

/// <summary>
/// transformers' <c>BeamHypotheses</c>: the best <c>num_beams</c> finished sequences of one row, each scored
/// sum-log-probability / generated-length^length_penalty.
/// </summary>
internal sealed class BeamHypotheses(int beams, GenerationSettings settings)
{
    internal sealed record Hypothesis(long[] Tokens, double Score, double SumLogProbabilities, int GeneratedLength, bool EndedByEos);

    private readonly List<Hypothesis> kept = [];
    private double worstScore = 1e9;

    public void Add(long[] tokens, float sumLogProbabilities, int generatedLength, bool endedByEos)
    {
        var score = sumLogProbabilities / Math.Pow(generatedLength, settings.LengthPenalty);
        if (kept.Count >= beams && score <= worstScore) return;
        kept.Add(new Hypothesis(tokens, score, sumLogProbabilities, generatedLength, endedByEos));
        if (kept.Count > beams)
        {
            var sorted = kept.Select((h, index) => (h.Score, index)).OrderBy(p => p.Score).ThenBy(p => p.index).ToArray();
            kept.RemoveAt(sorted[0].index);
            worstScore = sorted[1].Score;
        }
        else
            worstScore = Math.Min(score, worstScore);
    }

    public bool IsDone(float bestSumLogProbabilities, int generatedLength, int maxGeneratedLength)
    {
        if (kept.Count < beams) return false;
        double highest;
        switch (settings.EarlyStopping)
        {
            case EarlyStopping.WhenEnoughHypotheses:
                return true;
            case EarlyStopping.Never when settings.LengthPenalty > 0:
                highest = bestSumLogProbabilities / Math.Pow(maxGeneratedLength, settings.LengthPenalty);
                break;
            default:
                highest = bestSumLogProbabilities / Math.Pow(generatedLength, settings.LengthPenalty);
                break;
        }
        return worstScore >= highest;
    }

    /// <summary>The highest-scoring hypothesis; among equal scores the one added last, as Python's sorted + pop gives.</summary>
    public Hypothesis Best() =>
        kept.Select((h, index) => (h, index)).OrderBy(p => p.h.Score).ThenBy(p => p.index).Last().h;
}
