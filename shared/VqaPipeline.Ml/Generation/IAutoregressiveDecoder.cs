using static TorchSharp.torch;

namespace VqaPipeline.Ml.Generation;

/// <summary>
/// A language model part-way through decoding a batch of rows: it has read its prompt (image, question, prompt text)
/// and caches what it needs to read one more token per row. <see cref="SequenceGenerator"/> drives it.
/// </summary>
public interface IAutoregressiveDecoder : IDisposable
{
    /// <summary>Rows being decoded.</summary>
    int Rows { get; }

    /// <summary>
    /// Logits (rows, vocabulary) for each row's next token: after the prompt when <paramref name="tokens"/> is null
    /// (the first call), otherwise after appending <paramref name="tokens"/> (rows, int64), one token per row.
    /// </summary>
    Tensor NextTokenLogits(Tensor? tokens);

    /// <summary>
    /// Keeps the rows <paramref name="rows"/> (int64 indices, repeats allowed), in that order, with everything cached
    /// for them: expanding each row into beams before the first call, reordering beams after a step.
    /// </summary>
    void SelectRows(Tensor rows);
}
