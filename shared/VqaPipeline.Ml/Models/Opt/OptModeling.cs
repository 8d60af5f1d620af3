// OPT (Zhang et al., 2022) in TorchSharp, mirroring transformers 4.40.2's modeling_opt.py (eager attention): learned
// positions offset by 2 and counted along the attention mask, pre- or post-norm decoder blocks, a key/value cache,
// and the language-modelling head tied to the token embeddings.
using TorchSharp;
using TorchSharp.Modules;
using VqaPipeline.Ml.Models.Bert;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static VqaPipeline.Ml.Models.ModuleAllocation;

namespace VqaPipeline.Ml.Models.Opt;

/// <summary>
/// Learned positions: a token's position is the number of attended tokens before it (so left padding does not shift
/// them), looked up two rows further on (OPT's offset). Padding positions read row 1.
/// </summary>
public sealed class OptLearnedPositionalEmbedding : Module
{
    private const int Offset = 2;
    private readonly Parameter weight;

    public OptLearnedPositionalEmbedding(int positions, int width) : base(nameof(OptLearnedPositionalEmbedding))
    {
        weight = Parameter(NewZeros(positions + Offset, width));
        RegisterComponents();
    }

    /// <summary>Position embeddings (batch, new, width) of the last <c>mask.shape[1] - pastLength</c> positions.</summary>
    public Tensor Embed(Tensor attentionMask, long pastLength)
    {
        using var scope = NewDisposeScope();
        var mask = attentionMask.to(int64);
        var positions = mask.cumsum(1).mul(mask).sub(1)[.., (int)pastLength..].add(Offset);
        return weight.index_select(0, positions.flatten()).view(positions.shape[0], positions.shape[1], -1).MoveToOuterDisposeScope();
    }
}

/// <summary>Multi-head self-attention with separate q, k, v and output projections and a key/value cache.</summary>
public sealed class OptAttention : Module
{
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear q_proj;
    private readonly Linear out_proj;
    private readonly int heads;

    public OptAttention(OptConfig config) : base(nameof(OptAttention))
    {
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw new Checkpoints.UnsupportedModelException(
                $"OPT hidden_size {config.HiddenSize} is not a multiple of num_attention_heads {config.NumAttentionHeads}.");
        heads = config.NumAttentionHeads;
        k_proj = NewLinear(config.HiddenSize, config.HiddenSize, hasBias: config.EnableBias);
        v_proj = NewLinear(config.HiddenSize, config.HiddenSize, hasBias: config.EnableBias);
        q_proj = NewLinear(config.HiddenSize, config.HiddenSize, hasBias: config.EnableBias);
        out_proj = NewLinear(config.HiddenSize, config.HiddenSize, hasBias: config.EnableBias);
        RegisterComponents();
    }

    public Tensor Attend(Tensor hiddenStates, Tensor additiveMask, AttentionCache cache)
    {
        using var scope = NewDisposeScope();
        long batch = hiddenStates.shape[0], length = hiddenStates.shape[1], width = hiddenStates.shape[2];
        Tensor SplitHeads(Tensor t) => t.view(batch, -1, heads, width / heads).transpose(1, 2);
        var keys = SplitHeads(k_proj.forward(hiddenStates));
        var values = SplitHeads(v_proj.forward(hiddenStates));
        if (cache.Key is not null)
        {
            keys = cat([cache.Key, keys], dim: 2);
            values = cat([cache.Value!, values], dim: 2);
        }
        cache.Set(keys, values);
        var context = functional.scaled_dot_product_attention(SplitHeads(q_proj.forward(hiddenStates)), keys, values, additiveMask);
        return out_proj.forward(context.transpose(1, 2).reshape(batch, length, width)).MoveToOuterDisposeScope();
    }
}

/// <summary>Self-attention and a two-layer MLP, each with a residual, normalised before (OPT ≥ 1.3B) or after.</summary>
public sealed class OptDecoderLayer : Module
{
    private readonly OptAttention self_attn;
    private readonly LayerNorm self_attn_layer_norm;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly LayerNorm final_layer_norm;
    private readonly Module<Tensor, Tensor> activation_fn;
    private readonly bool normalizeBefore;

    public OptDecoderLayer(OptConfig config) : base(nameof(OptDecoderLayer))
    {
        self_attn = new OptAttention(config);
        normalizeBefore = config.DoLayerNormBefore;
        activation_fn = ActivationFunctions.Create(config.ActivationFunction);
        self_attn_layer_norm = NewLayerNorm(config.HiddenSize, elementwiseAffine: config.LayerNormElementwiseAffine);
        fc1 = NewLinear(config.HiddenSize, config.FfnDim, hasBias: config.EnableBias);
        fc2 = NewLinear(config.FfnDim, config.HiddenSize, hasBias: config.EnableBias);
        final_layer_norm = NewLayerNorm(config.HiddenSize, elementwiseAffine: config.LayerNormElementwiseAffine);
        RegisterComponents();
    }

    public Tensor Forward(Tensor hiddenStates, Tensor additiveMask, AttentionCache cache)
    {
        using var scope = NewDisposeScope();
        var input = normalizeBefore ? self_attn_layer_norm.forward(hiddenStates) : hiddenStates;
        var attended = self_attn.Attend(input, additiveMask, cache).Plus(hiddenStates);
        if (!normalizeBefore) attended = self_attn_layer_norm.forward(attended);
        var mlpInput = normalizeBefore ? final_layer_norm.forward(attended) : attended;
        var output = fc2.forward(activation_fn.forward(fc1.forward(mlpInput))).Plus(attended);
        if (!normalizeBefore) output = final_layer_norm.forward(output);
        return output.MoveToOuterDisposeScope();
    }
}

/// <summary><c>OPTDecoder</c>: token and position embeddings, the blocks, and the final LayerNorm.</summary>
public sealed class OptDecoder : Module
{
    private readonly Embedding embed_tokens;
    private readonly OptLearnedPositionalEmbedding embed_positions;
    private readonly Linear? project_out;
    private readonly Linear? project_in;
    private readonly LayerNorm? final_layer_norm;
    private readonly ModuleList<OptDecoderLayer> layers;

    public OptDecoder(OptConfig config) : base(nameof(OptDecoder))
    {
        embed_tokens = NewEmbedding(config.VocabSize, config.EmbeddingWidth, paddingIndex: config.PadTokenId);
        embed_positions = new OptLearnedPositionalEmbedding(config.MaxPositionEmbeddings, config.HiddenSize);
        if (config.EmbeddingWidth != config.HiddenSize)
        {
            project_out = NewLinear(config.HiddenSize, config.EmbeddingWidth, hasBias: false);
            project_in = NewLinear(config.EmbeddingWidth, config.HiddenSize, hasBias: false);
        }
        if (config.DoLayerNormBefore && !config.RemoveFinalLayerNorm)
            final_layer_norm = NewLayerNorm(config.HiddenSize, elementwiseAffine: config.LayerNormElementwiseAffine);
        layers = new ModuleList<OptDecoderLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new OptDecoderLayer(config)).ToArray());
        RegisterComponents();
    }

    public int Layers => layers.Count;

    public Embedding EmbedTokens => embed_tokens;

    /// <summary>
    /// The last hidden states of the new positions. <paramref name="attentionMask"/> (batch, past + new) covers the
    /// cached positions too; each new position sees the attended positions up to itself.
    /// </summary>
    public Tensor Forward(Tensor inputsEmbeds, Tensor attentionMask, IReadOnlyList<AttentionCache> caches)
    {
        using var scope = NewDisposeScope();
        var pastLength = caches[0].Length;
        var newLength = inputsEmbeds.shape[1];
        var positions = embed_positions.Embed(attentionMask, pastLength);
        var embedded = project_in?.forward(inputsEmbeds) ?? inputsEmbeds;
        var hidden = embedded.Plus(positions.to(embedded.dtype));
        var mask = CausalMask(attentionMask, newLength, pastLength, hidden.dtype);
        for (var i = 0; i < layers.Count; i++)
            hidden = layers[i].Forward(hidden, mask, caches[i]);
        if (final_layer_norm is not null) hidden = final_layer_norm.forward(hidden);
        if (project_out is not null) hidden = project_out.forward(hidden);
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// (batch, 1, new, past + new) additive mask: the dtype's minimum (finite, as in transformers' eager attention) where
    /// a key is padding or lies after the query. A left-padding query sees no key at all and so attends uniformly, as in
    /// Python; nothing reads its output.
    /// </summary>
    private static Tensor CausalMask(Tensor attentionMask, long newLength, long pastLength, ScalarType dtype)
    {
        var total = attentionMask.shape[1];
        var keys = arange(total, device: attentionMask.device).unsqueeze(0);
        var queries = arange(pastLength, pastLength + newLength, device: attentionMask.device).unsqueeze(1);
        var visible = keys.le(queries).unsqueeze(0).logical_and(attentionMask.unsqueeze(1).to(ScalarType.Bool));
        using var fill = AttentionMasks.MostNegative(dtype).ToScalar();
        return visible.logical_not().to(dtype).mul(fill).unsqueeze(1);
    }
}

public sealed class OptModel : Module
{
    private readonly OptDecoder decoder;

    public OptModel(OptConfig config) : base(nameof(OptModel))
    {
        decoder = new OptDecoder(config);
        RegisterComponents();
    }

    public OptDecoder Decoder => decoder;
}

/// <summary><c>OPTForCausalLM</c>: the decoder and <c>lm_head</c>, which shares its weight with the token embeddings.</summary>
public sealed class OptForCausalLM : Module
{
    private readonly OptModel model;
    private readonly Linear lm_head;

    public OptForCausalLM(OptConfig config) : base(nameof(OptForCausalLM))
    {
        model = new OptModel(config);
        lm_head = NewLinear(config.EmbeddingWidth, config.VocabSize, hasBias: false);
        if (config.TieWordEmbeddings) lm_head.weight = model.Decoder.EmbedTokens.weight!;
        RegisterComponents();
    }

    public int Layers => model.Decoder.Layers;

    public Tensor EmbedTokens(Tensor inputIds) => model.Decoder.EmbedTokens.forward(inputIds);

    /// <summary>Vocabulary logits for every new position (batch, new, vocabulary).</summary>
    public Tensor Logits(Tensor inputsEmbeds, Tensor attentionMask, IReadOnlyList<AttentionCache> caches)
    {
        using var hidden = model.Decoder.Forward(inputsEmbeds, attentionMask, caches);
        return lm_head.forward(hidden);
    }
}
