using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Pipelines;

/// <summary>
/// A model runtime for classification VQA: a prepared batch in, one logit per answer label out. TorchSharp implements
/// it (<c>TorchViltClassifier</c>), and so does ONNX Runtime (<c>OnnxViltClassifier</c>); <see cref="ClassifierRuntime"/>
/// picks one for a model folder.
/// </summary>
public interface IVqaClassifier : IDisposable
{
    /// <summary>Answer labels, indexed like the logits (<c>id2label</c>).</summary>
    IReadOnlyList<string> Labels { get; }

    /// <summary>Most word pieces a question may have, [CLS] and [SEP] included (<c>max_position_embeddings</c>).</summary>
    int MaxTextLength { get; }

    /// <summary>
    /// Null when every weight came from the checkpoint; otherwise what was missing, unexpected or re-initialised, in
    /// transformers' words (answers from a randomly initialised head are meaningless).
    /// </summary>
    string? LoadWarning { get; }

    /// <summary>Which runtime answers, on what device and in which precision (e.g. <c>torch cpu float32</c>).</summary>
    string Runtime => GetType().Name;

    /// <summary>What the runtime could not do as asked (CUDA requested, CPU used); null when nothing.</summary>
    string? RuntimeWarning => null;

    /// <summary>Row-major logits, <c>batch.BatchSize × Labels.Count</c>.</summary>
    float[] Logits(ClassifierBatch batch);
}

/// <summary>Token ids padded to <paramref name="TextLength"/> (row-major) plus the processed images, one per row.</summary>
public sealed record ClassifierBatch(
    long[] InputIds, long[] AttentionMask, long[] TokenTypeIds, int BatchSize, int TextLength, ImageBatch Images);
