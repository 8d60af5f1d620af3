// BLIP's vision transformer in TorchSharp, mirroring BlipVisionModel of transformers' modeling_blip.py. BLIP-2's
// Blip2VisionModel (modeling_blip_2.py) has the same modules and keys: its q and v biases are stored packed in
// qkv.bias (transformers concatenates them with a zero k bias at construction), so one class serves both.
using TorchSharp;
using TorchSharp.Modules;
using VqaPipeline.Ml.Models.Bert;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static VqaPipeline.Ml.Models.ModuleAllocation;

namespace VqaPipeline.Ml.Models.Blip;

/// <summary>Class embedding and patch_size × patch_size patches, plus learned positions.</summary>
public sealed class BlipVisionEmbeddings : Module<Tensor, Tensor>
{
    private readonly Parameter class_embedding;
    private readonly Conv2d patch_embedding;
    private readonly Parameter position_embedding;

    public BlipVisionEmbeddings(BlipVisionConfig config) : base(nameof(BlipVisionEmbeddings))
    {
        class_embedding = Parameter(NewZeros(1, 1, config.HiddenSize));
        patch_embedding = NewConv2d(3, config.HiddenSize, kernelSize: config.PatchSize, stride: config.PatchSize);
        var patches = (config.ImageSize / config.PatchSize) * (config.ImageSize / config.PatchSize);
        position_embedding = Parameter(NewZeros(1, patches + 1, config.HiddenSize));
        RegisterComponents();
    }

    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var batch = pixelValues.shape[0];
        var patches = patch_embedding.forward(pixelValues.to(patch_embedding.weight!.dtype)).flatten(2).transpose(1, 2);
        var embeddings = cat([class_embedding.expand(batch, 1, -1), patches], dim: 1);
        return embeddings.Plus(position_embedding[.., ..(int)embeddings.shape[1], ..]).MoveToOuterDisposeScope();
    }
}

/// <summary>Multi-head self-attention with one packed <c>qkv</c> projection and an output <c>projection</c>.</summary>
public sealed class BlipAttention : Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear projection;
    private readonly int heads;

    public BlipAttention(BlipVisionConfig config) : base(nameof(BlipAttention))
    {
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw new Checkpoints.UnsupportedModelException(
                $"vision hidden_size {config.HiddenSize} is not a multiple of num_attention_heads {config.NumAttentionHeads}.");
        heads = config.NumAttentionHeads;
        qkv = NewLinear(config.HiddenSize, 3 * config.HiddenSize, hasBias: config.HasQkvBias);
        projection = NewLinear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        long batch = hiddenStates.shape[0], length = hiddenStates.shape[1], width = hiddenStates.shape[2];
        var packed = qkv.forward(hiddenStates).reshape(batch, length, 3, heads, width / heads).permute(2, 0, 3, 1, 4);
        var context = functional.scaled_dot_product_attention(packed[0], packed[1], packed[2]);
        var merged = context.permute(0, 2, 1, 3).reshape(batch, length, width);
        return projection.forward(merged).MoveToOuterDisposeScope();
    }
}

/// <summary>fc1 → activation → fc2.</summary>
public sealed class BlipMLP : Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Module<Tensor, Tensor> activation_fn;
    private readonly Linear fc2;

    public BlipMLP(BlipVisionConfig config) : base(nameof(BlipMLP))
    {
        fc1 = NewLinear(config.HiddenSize, config.IntermediateSize);
        activation_fn = ActivationFunctions.Create(config.HiddenAct);
        fc2 = NewLinear(config.IntermediateSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var first = fc1.forward(hiddenStates);
        using var activated = activation_fn.forward(first);
        return fc2.forward(activated);
    }
}

/// <summary>A pre-norm block: LN → attention → residual → LN → MLP → residual.</summary>
public sealed class BlipEncoderLayer : Module<Tensor, Tensor>
{
    private readonly BlipAttention self_attn;
    private readonly LayerNorm layer_norm1;
    private readonly BlipMLP mlp;
    private readonly LayerNorm layer_norm2;

    public BlipEncoderLayer(BlipVisionConfig config) : base(nameof(BlipEncoderLayer))
    {
        self_attn = new BlipAttention(config);
        layer_norm1 = NewLayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        mlp = new BlipMLP(config);
        layer_norm2 = NewLayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var attended = self_attn.forward(layer_norm1.forward(hiddenStates)).Plus(hiddenStates);
        return mlp.forward(layer_norm2.forward(attended)).Plus(attended).MoveToOuterDisposeScope();
    }
}

public sealed class BlipEncoder : Module<Tensor, Tensor>
{
    private readonly ModuleList<BlipEncoderLayer> layers;

    public BlipEncoder(BlipVisionConfig config) : base(nameof(BlipEncoder))
    {
        layers = new ModuleList<BlipEncoderLayer>(
            Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BlipEncoderLayer(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        var current = hiddenStates.alias();
        foreach (var layer in layers)
        {
            var next = layer.forward(current);
            current.Dispose();
            current = next;
        }
        return current;
    }
}

/// <summary>
/// <c>BlipVisionModel</c> / <c>Blip2VisionModel</c>: returns <c>last_hidden_state</c> after <c>post_layernorm</c>
/// (class token first, then the patches), which is what BLIP's text encoder and BLIP-2's Q-Former attend to.
/// </summary>
public sealed class BlipVisionModel : Module<Tensor, Tensor>
{
    private readonly BlipVisionEmbeddings embeddings;
    private readonly BlipEncoder encoder;
    private readonly LayerNorm post_layernorm;

    public BlipVisionModel(BlipVisionConfig config) : base(nameof(BlipVisionModel))
    {
        embeddings = new BlipVisionEmbeddings(config);
        encoder = new BlipEncoder(config);
        post_layernorm = NewLayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor pixelValues)
    {
        using var embedded = embeddings.forward(pixelValues);
        using var encoded = encoder.forward(embedded);
        return post_layernorm.forward(encoded);
    }
}
