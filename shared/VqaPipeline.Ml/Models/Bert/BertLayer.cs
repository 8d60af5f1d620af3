// The BERT-style transformer block that ViLT, BLIP's text encoder/decoder and BLIP-2's Q-Former share. Hugging Face
// spells it three ways (modeling_vilt.py, modeling_blip_text.py, modeling_blip_2.py); one implementation serves all
// three, and a BertLayerLayout names the submodules the way each checkpoint does, so every key loads unrenamed.
using TorchSharp;
using VqaPipeline.Ml.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static VqaPipeline.Ml.Models.ModuleAllocation;

namespace VqaPipeline.Ml.Models.Bert;

/// <summary>The widths, activation and dropout of one BERT-style block.</summary>
/// <param name="QkvBias">Whether query, key and value projections carry a bias (ViLT's <c>qkv_bias</c>).</param>
public sealed record BertLayerSettings(
    int HiddenSize,
    int NumAttentionHeads,
    int IntermediateSize,
    string HiddenAct,
    double LayerNormEps,
    double HiddenDropoutProb = 0.0,
    double AttentionProbsDropoutProb = 0.0,
    bool QkvBias = true);

/// <summary>How a checkpoint names and arranges the parts of a block.</summary>
/// <param name="SelfAttentionName">The attention's inner module: <c>attention</c> (ViLT, Q-Former) or <c>self</c> (BLIP text).</param>
/// <param name="PreLayerNorm">ViLT's pre-norm block (<c>layernorm_before</c>/<c>layernorm_after</c>); otherwise BERT's
/// post-norm block, whose output projections end in a LayerNorm.</param>
/// <param name="CrossAttentionWidth">Width of the states a <c>crossattention</c> module attends to; null for none.</param>
/// <param name="FeedForwardSuffix">Appended to <c>intermediate</c> and <c>output</c> (the Q-Former's <c>_query</c>).</param>
public sealed record BertLayerLayout(
    string SelfAttentionName,
    bool PreLayerNorm,
    int? CrossAttentionWidth = null,
    string FeedForwardSuffix = "");

/// <summary>Cached keys and values of one attention module, so a decoder step attends without recomputing them.</summary>
public sealed class AttentionCache : IDisposable
{
    /// <summary>(batch, heads, length, head width), or null before the first step.</summary>
    public Tensor? Key { get; private set; }

    public Tensor? Value { get; private set; }

    /// <summary>Positions cached so far.</summary>
    public long Length => Key?.shape[2] ?? 0;

    internal void Set(Tensor key, Tensor value)
    {
        if (!ReferenceEquals(key, Key)) Key?.Dispose();
        if (!ReferenceEquals(value, Value)) Value?.Dispose();
        Key = key.DetachFromDisposeScope();
        Value = value.DetachFromDisposeScope();
    }

    /// <summary>Keeps the rows <paramref name="rows"/> (beam reordering, or expanding each row into beams).</summary>
    public void SelectRows(Tensor rows)
    {
        if (Key is null || Value is null) return;
        Set(Key.index_select(0, rows), Value.index_select(0, rows));
    }

    public void Dispose()
    {
        Key?.Dispose();
        Value?.Dispose();
        Key = null;
        Value = null;
    }
}

/// <summary>The caches of one block: its self-attention and, where it has one, its cross-attention.</summary>
public sealed class BertLayerCache : IDisposable
{
    public AttentionCache Self { get; } = new();

    public AttentionCache Cross { get; } = new();

    public void SelectRows(Tensor rows)
    {
        Self.SelectRows(rows);
        Cross.SelectRows(rows);
    }

    public void Dispose()
    {
        Self.Dispose();
        Cross.Dispose();
    }
}

internal static class ActivationFunctions
{
    public static Module<Tensor, Tensor> Create(string name) => name switch
    {
        "gelu" => GELU(),
        "gelu_new" or "gelu_pytorch_tanh" => GELU(TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => ReLU(),
        "tanh" => Tanh(),
        _ => throw new UnsupportedModelException($"hidden_act '{name}' is not supported (gelu, gelu_new, relu, tanh are)."),
    };
}

/// <summary>
/// Multi-head scaled dot-product attention with query, key and value projections. Self-attention attends to its own
/// input; cross-attention (a <c>keyValueWidth</c> given) to another sequence's states. Padding and causality
/// arrive as an additive mask.
/// </summary>
public sealed class BertSelfAttention : Module
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly int heads;
    private readonly double dropoutProbability;

    public BertSelfAttention(BertLayerSettings settings, int? keyValueWidth = null) : base(nameof(BertSelfAttention))
    {
        if (settings.HiddenSize % settings.NumAttentionHeads != 0)
            throw new UnsupportedModelException(
                $"hidden_size {settings.HiddenSize} is not a multiple of num_attention_heads {settings.NumAttentionHeads}.");
        heads = settings.NumAttentionHeads;
        var source = keyValueWidth ?? settings.HiddenSize;
        query = NewLinear(settings.HiddenSize, settings.HiddenSize, hasBias: settings.QkvBias);
        key = NewLinear(source, settings.HiddenSize, hasBias: settings.QkvBias);
        value = NewLinear(source, settings.HiddenSize, hasBias: settings.QkvBias);
        dropoutProbability = settings.AttentionProbsDropoutProb;
        RegisterComponents();
    }

    /// <summary>
    /// Attends from <paramref name="hiddenStates"/> to <paramref name="keyValueStates"/> (itself when null). With a
    /// <paramref name="cache"/>, self-attention appends this step's keys and values to the cached ones, and
    /// cross-attention computes its keys and values once and reuses them.
    /// </summary>
    public Tensor Attend(Tensor hiddenStates, Tensor? additiveMask, Tensor? keyValueStates = null, AttentionCache? cache = null)
    {
        using var scope = NewDisposeScope();
        long batch = hiddenStates.shape[0], length = hiddenStates.shape[1], width = hiddenStates.shape[2];
        Tensor SplitHeads(Tensor t) => t.view(batch, -1, heads, width / heads).transpose(1, 2);

        Tensor keys, values;
        if (keyValueStates is not null && cache?.Key is not null)
            (keys, values) = (cache.Key, cache.Value!);
        else
        {
            var source = keyValueStates ?? hiddenStates;
            keys = SplitHeads(key.forward(source));
            values = SplitHeads(value.forward(source));
            if (keyValueStates is null && cache?.Key is not null)
            {
                keys = cat([cache.Key, keys], dim: 2);
                values = cat([cache.Value!, values], dim: 2);
            }
            cache?.Set(keys, values);
        }
        var context = functional.scaled_dot_product_attention(SplitHeads(query.forward(hiddenStates)), keys, values,
            additiveMask, p: training ? dropoutProbability : 0.0);
        return context.transpose(1, 2).reshape(batch, length, width).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// <c>dense</c> then dropout, added to the residual; in a post-norm block (<c>LayerNorm</c> present) the sum is then
/// normalised. Serves as both BERT's SelfOutput (after attention) and Output (after the intermediate MLP).
/// </summary>
public sealed class BertProjection : Module
{
    private readonly Linear dense;
    private readonly LayerNorm? LayerNorm;
    private readonly Dropout dropout;

    public BertProjection(int inputWidth, BertLayerSettings settings, bool postLayerNorm) : base(nameof(BertProjection))
    {
        dense = NewLinear(inputWidth, settings.HiddenSize);
        LayerNorm = postLayerNorm ? NewLayerNorm(settings.HiddenSize, eps: settings.LayerNormEps) : null;
        dropout = Dropout(settings.HiddenDropoutProb);
        RegisterComponents();
    }

    public Tensor Project(Tensor hiddenStates, Tensor residual)
    {
        using var projected = dense.forward(hiddenStates);
        using var dropped = dropout.forward(projected);
        if (LayerNorm is null) return dropped.Plus(residual);
        using var sum = dropped.Plus(residual);
        return LayerNorm.forward(sum);
    }
}

/// <summary>Attention followed by its output projection (BERT's <c>BertAttention</c>).</summary>
public sealed class BertAttention : Module
{
    // One of the two is set, as the layout names the inner module: TorchSharp registers each field under its name.
    private readonly BertSelfAttention? self;
    private readonly BertSelfAttention? attention;
    private readonly BertProjection output;

    public BertAttention(BertLayerSettings settings, BertLayerLayout layout, int? keyValueWidth = null) : base(nameof(BertAttention))
    {
        var inner = new BertSelfAttention(settings, keyValueWidth);
        switch (layout.SelfAttentionName)
        {
            case "self": self = inner; break;
            case "attention": attention = inner; break;
            default: throw new ArgumentException($"an attention module is named 'self' or 'attention', not '{layout.SelfAttentionName}'.", nameof(layout));
        }
        output = new BertProjection(settings.HiddenSize, settings, postLayerNorm: !layout.PreLayerNorm);
        RegisterComponents();
    }

    /// <summary>Attention of <paramref name="hiddenStates"/>, projected and added to <paramref name="residual"/>.</summary>
    public Tensor Attend(Tensor hiddenStates, Tensor residual, Tensor? additiveMask, Tensor? keyValueStates = null,
        AttentionCache? cache = null)
    {
        using var context = (self ?? attention!).Attend(hiddenStates, additiveMask, keyValueStates, cache);
        return output.Project(context, residual);
    }
}

/// <summary><c>dense</c> to the intermediate width and the activation.</summary>
public sealed class BertIntermediate : Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly Module<Tensor, Tensor> intermediate_act_fn;

    public BertIntermediate(BertLayerSettings settings) : base(nameof(BertIntermediate))
    {
        dense = NewLinear(settings.HiddenSize, settings.IntermediateSize);
        intermediate_act_fn = ActivationFunctions.Create(settings.HiddenAct);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var projected = dense.forward(hiddenStates);
        return intermediate_act_fn.forward(projected);
    }
}

/// <summary>
/// One block: self-attention, optionally cross-attention to encoder states, then the MLP. Pre-norm (ViLT) normalises
/// before attention and MLP; post-norm (BERT, BLIP text, Q-Former) after each residual sum.
/// </summary>
public sealed class BertLayer : Module
{
    private readonly BertAttention attention;
    private readonly BertAttention? crossattention;
    // The feed-forward pair is named intermediate/output, or intermediate_query/output_query in the Q-Former.
    private readonly BertIntermediate? intermediate;
    private readonly BertProjection? output;
    private readonly BertIntermediate? intermediate_query;
    private readonly BertProjection? output_query;
    private readonly LayerNorm? layernorm_before;
    private readonly LayerNorm? layernorm_after;

    public BertLayer(BertLayerSettings settings, BertLayerLayout layout) : base(nameof(BertLayer))
    {
        attention = new BertAttention(settings, layout);
        if (layout.CrossAttentionWidth is int width)
            crossattention = new BertAttention(settings, layout, width);
        var feedForward = (new BertIntermediate(settings),
            new BertProjection(settings.IntermediateSize, settings, postLayerNorm: !layout.PreLayerNorm));
        switch (layout.FeedForwardSuffix)
        {
            case "": (intermediate, output) = feedForward; break;
            case "_query": (intermediate_query, output_query) = feedForward; break;
            default: throw new ArgumentException($"the feed-forward suffix is '' or '_query', not '{layout.FeedForwardSuffix}'.", nameof(layout));
        }
        if (layout.PreLayerNorm)
        {
            layernorm_before = NewLayerNorm(settings.HiddenSize, eps: settings.LayerNormEps);
            layernorm_after = NewLayerNorm(settings.HiddenSize, eps: settings.LayerNormEps);
        }
        RegisterComponents();
    }

    /// <summary>Whether this block attends to encoder states.</summary>
    public bool HasCrossAttention => crossattention is not null;

    /// <summary>
    /// Runs the block. <paramref name="encoderStates"/> feed the cross-attention (ignored by a block without one);
    /// <paramref name="cache"/> holds keys and values between decoding steps.
    /// </summary>
    public Tensor Forward(Tensor hiddenStates, Tensor? additiveMask, Tensor? encoderStates = null,
        Tensor? encoderAdditiveMask = null, BertLayerCache? cache = null)
    {
        using var scope = NewDisposeScope();
        Tensor attended;
        if (layernorm_before is not null)
            attended = attention.Attend(layernorm_before.forward(hiddenStates), hiddenStates, additiveMask, cache: cache?.Self);
        else
            attended = attention.Attend(hiddenStates, hiddenStates, additiveMask, cache: cache?.Self);
        if (crossattention is not null && encoderStates is not null)
            attended = crossattention.Attend(attended, attended, encoderAdditiveMask, encoderStates, cache?.Cross);
        var normalized = layernorm_after?.forward(attended) ?? attended;
        var mlp = (intermediate ?? intermediate_query!).forward(normalized);
        return (output ?? output_query!).Project(mlp, attended).MoveToOuterDisposeScope();
    }
}

/// <summary>The stack of blocks (<c>encoder.layer.N</c>).</summary>
public sealed class BertEncoder : Module
{
    private readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertLayerSettings settings, int layers, Func<int, BertLayerLayout> layoutOf) : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, layers).Select(i => new BertLayer(settings, layoutOf(i))).ToArray());
        RegisterComponents();
    }

    public int Count => layer.Count;

    /// <summary>Runs every block in turn; <paramref name="caches"/>, when given, holds one cache per block.</summary>
    public Tensor Forward(Tensor hiddenStates, Tensor? additiveMask, Tensor? encoderStates = null,
        Tensor? encoderAdditiveMask = null, IReadOnlyList<BertLayerCache>? caches = null)
    {
        var current = hiddenStates.alias();
        for (var i = 0; i < layer.Count; i++)
        {
            var next = layer[i].Forward(current, additiveMask, encoderStates, encoderAdditiveMask, caches?[i]);
            current.Dispose();
            current = next;
        }
        return current;
    }
}

/// <summary>dense → activation → LayerNorm before a vocabulary projection (BERT's <c>PredictionHeadTransform</c>).</summary>
public sealed class BertPredictionHeadTransform : Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly Module<Tensor, Tensor> transform_act_fn;
    private readonly LayerNorm LayerNorm;

    public BertPredictionHeadTransform(int hiddenSize, string hiddenAct, double layerNormEps) : base(nameof(BertPredictionHeadTransform))
    {
        dense = NewLinear(hiddenSize, hiddenSize);
        transform_act_fn = ActivationFunctions.Create(hiddenAct);
        LayerNorm = NewLayerNorm(hiddenSize, eps: layerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var projected = dense.forward(hiddenStates);
        using var activated = transform_act_fn.forward(projected);
        return LayerNorm.forward(activated);
    }
}

/// <summary>Additive attention masks as transformers builds them.</summary>
public static class AttentionMasks
{
    /// <summary>The most negative finite value of <paramref name="dtype"/> (<c>torch.finfo(dtype).min</c>).</summary>
    public static double MostNegative(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float16 => -65504.0,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };

    /// <summary>
    /// (batch, 1, 1, keys): 0 where <paramref name="mask"/> is 1, <paramref name="fill"/> where it is 0
    /// (<c>invert_attention_mask</c> and the encoder case of <c>get_extended_attention_mask</c>).
    /// </summary>
    public static Tensor Padding(Tensor mask, ScalarType dtype, double? fill = null)
    {
        using var scalar = (fill ?? MostNegative(dtype)).ToScalar();
        using var masked = mask.logical_not();
        using var typed = masked.to(dtype);
        using var scaled = typed.mul(scalar);
        return scaled.view(mask.shape[0], 1, 1, mask.shape[1]);
    }
}
