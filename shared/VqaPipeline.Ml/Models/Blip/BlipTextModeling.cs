// BLIP's text transformer in TorchSharp, mirroring transformers' modeling_blip_text.py: BERT embeddings without token
// types, post-norm BERT blocks (Models/Bert) that cross-attend to another sequence, and the language-modelling head
// of the answer decoder. The same BlipTextModel is the question encoder (bidirectional) and, inside
// BlipTextLMHeadModel, the answer decoder (causal, with a key/value cache).
using TorchSharp;
using TorchSharp.Modules;
using VqaPipeline.Ml.Models.Bert;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static VqaPipeline.Ml.Models.ModuleAllocation;

namespace VqaPipeline.Ml.Models.Blip;

/// <summary>Word plus absolute position embeddings, then LayerNorm (no token-type embeddings).</summary>
public sealed class BlipTextEmbeddings : Module
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BlipTextEmbeddings(BlipTextConfig config) : base(nameof(BlipTextEmbeddings))
    {
        word_embeddings = NewEmbedding(config.VocabSize, config.HiddenSize, paddingIndex: config.PadTokenId);
        position_embeddings = NewEmbedding(config.MaxPositionEmbeddings, config.HiddenSize);
        LayerNorm = NewLayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>The word embedding table (<c>word_embeddings.weight</c>).</summary>
    public Parameter WordEmbeddingWeight => word_embeddings.weight!;

    /// <summary>Embeds <paramref name="inputIds"/>, whose first token sits at position <paramref name="pastLength"/>.</summary>
    public Tensor Embed(Tensor inputIds, long pastLength)
    {
        using var scope = NewDisposeScope();
        var positions = arange(pastLength, pastLength + inputIds.shape[1], dtype: int64, device: inputIds.device).unsqueeze(0);
        var sum = word_embeddings.forward(inputIds).Plus(position_embeddings.forward(positions));
        return dropout.forward(LayerNorm.forward(sum)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// <c>BlipTextModel</c> without its pooler (BLIP's VQA model builds both of its text models with
/// <c>add_pooling_layer=False</c>).
/// </summary>
public sealed class BlipTextModel : Module
{
    private readonly BlipTextEmbeddings embeddings;
    private readonly BertEncoder encoder;

    public BlipTextModel(BlipTextConfig config) : base(nameof(BlipTextModel))
    {
        embeddings = new BlipTextEmbeddings(config);
        var settings = new BertLayerSettings(config.HiddenSize, config.NumAttentionHeads, config.IntermediateSize,
            config.HiddenAct, config.LayerNormEps, config.HiddenDropoutProb, config.AttentionProbsDropoutProb);
        // Every block of a BLIP text model with is_decoder (the default, and every released checkpoint) has a
        // cross-attention, the question encoder's included.
        var layout = new BertLayerLayout("self", PreLayerNorm: false, config.IsDecoder ? config.EncoderHiddenSize : null);
        encoder = new BertEncoder(settings, config.NumHiddenLayers, _ => layout);
        RegisterComponents();
    }

    public int Layers => encoder.Count;

    public BlipTextEmbeddings Embeddings => embeddings;

    /// <summary>
    /// <c>last_hidden_state</c> for <paramref name="inputIds"/>. <paramref name="attentionMask"/> covers the cached
    /// positions and the new ones (1 = attend). As a decoder (<paramref name="causal"/>) each new token sees only what
    /// precedes it. BLIP masks with -10000 (not the dtype's minimum) in self-attention, as transformers' BLIP does.
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, Tensor? encoderStates, Tensor? encoderMask, bool causal,
        IReadOnlyList<BertLayerCache>? caches = null)
    {
        using var scope = NewDisposeScope();
        var pastLength = caches is { Count: > 0 } ? caches[0].Self.Length : 0;
        var hidden = embeddings.Embed(inputIds, pastLength);
        var dtype = hidden.dtype;
        var selfMask = causal
            ? CausalMask(attentionMask, inputIds.shape[1], pastLength, dtype)
            : AttentionMasks.Padding(attentionMask, dtype, fill: -10000.0);
        var crossMask = encoderMask is null ? null : AttentionMasks.Padding(encoderMask, dtype);
        return encoder.Forward(hidden, selfMask, encoderStates, crossMask, caches).MoveToOuterDisposeScope();
    }

    /// <summary>(batch, 1, new, past + new): key j is visible to new token i when j ≤ past + i and the mask allows it.</summary>
    private static Tensor CausalMask(Tensor attentionMask, long newLength, long pastLength, ScalarType dtype)
    {
        var total = attentionMask.shape[1];
        var keys = arange(total, device: attentionMask.device).unsqueeze(0);
        var queries = arange(pastLength, pastLength + newLength, device: attentionMask.device).unsqueeze(1);
        var visible = keys.le(queries).unsqueeze(0).logical_and(attentionMask.unsqueeze(1).to(ScalarType.Bool));
        using var fill = (-10000.0).ToScalar();
        return visible.logical_not().to(dtype).mul(fill).unsqueeze(1);
    }
}

/// <summary>The vocabulary projection; its bias is one parameter under two keys (<c>bias</c> and <c>decoder.bias</c>).</summary>
public sealed class BlipTextLMPredictionHead : Module<Tensor, Tensor>
{
    private readonly BertPredictionHeadTransform transform;
    private readonly Linear decoder;
    private readonly Parameter bias;

    public BlipTextLMPredictionHead(BlipTextConfig config) : base(nameof(BlipTextLMPredictionHead))
    {
        transform = new BertPredictionHeadTransform(config.HiddenSize, config.HiddenAct, config.LayerNormEps);
        decoder = NewLinear(config.HiddenSize, config.VocabSize, hasBias: false);
        bias = Parameter(NewZeros(config.VocabSize));
        decoder.bias = bias;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var transformed = transform.forward(hiddenStates);
        return decoder.forward(transformed);
    }
}

public sealed class BlipTextOnlyMLMHead : Module<Tensor, Tensor>
{
    private readonly BlipTextLMPredictionHead predictions;

    public BlipTextOnlyMLMHead(BlipTextConfig config) : base(nameof(BlipTextOnlyMLMHead))
    {
        predictions = new BlipTextLMPredictionHead(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates) => predictions.forward(hiddenStates);
}

/// <summary><c>BlipTextLMHeadModel</c>: the causal answer decoder with its vocabulary head.</summary>
public sealed class BlipTextLMHeadModel : Module
{
    private readonly BlipTextModel bert;
    private readonly BlipTextOnlyMLMHead cls;

    public BlipTextLMHeadModel(BlipTextConfig config) : base(nameof(BlipTextLMHeadModel))
    {
        bert = new BlipTextModel(config);
        cls = new BlipTextOnlyMLMHead(config);
        RegisterComponents();
    }

    public int Layers => bert.Layers;

    /// <summary>Vocabulary logits for every new token (batch, new, vocab).</summary>
    public Tensor Logits(Tensor inputIds, Tensor attentionMask, Tensor encoderStates, Tensor encoderMask,
        IReadOnlyList<BertLayerCache>? caches)
    {
        using var hidden = bert.Forward(inputIds, attentionMask, encoderStates, encoderMask, causal: true, caches);
        return cls.forward(hidden);
    }
}
