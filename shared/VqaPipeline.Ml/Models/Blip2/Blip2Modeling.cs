// BLIP-2 (Li et al., 2023) with an OPT language model in TorchSharp, mirroring transformers 4.40.2's
// modeling_blip_2.py: the vision transformer (Models/Blip), the Q-Former whose learned query tokens read the image
// through cross-attention (Models/Bert blocks), the projection into the language model's embedding space, and OPT.
// The query embeddings go in front of the prompt's token embeddings; the processor inserts no image tokens (4.40.2).
using TorchSharp;
using TorchSharp.Modules;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Generation;
using VqaPipeline.Ml.Models.Bert;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Models.Opt;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static VqaPipeline.Ml.Models.ModuleAllocation;

namespace VqaPipeline.Ml.Models.Blip2;

/// <summary>
/// <c>Blip2QFormerModel</c> as BLIP-2's generation uses it: LayerNorm over the query embeddings, then post-norm blocks
/// whose every <c>cross_attention_frequency</c>-th one cross-attends to the image (no text input).
/// </summary>
public sealed class Blip2QFormerModel : Module
{
    private readonly LayerNorm layernorm;
    private readonly Dropout dropout;
    private readonly BertEncoder encoder;

    public Blip2QFormerModel(Blip2QFormerConfig config, int imageWidth) : base(nameof(Blip2QFormerModel))
    {
        if (config.CrossAttentionFrequency < 1)
            throw new UnsupportedModelException($"qformer cross_attention_frequency must be at least 1 (got {config.CrossAttentionFrequency}).");
        layernorm = NewLayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = Dropout(config.HiddenDropoutProb);
        var settings = new BertLayerSettings(config.HiddenSize, config.NumAttentionHeads, config.IntermediateSize,
            config.HiddenAct, config.LayerNormEps, config.HiddenDropoutProb, config.AttentionProbsDropoutProb);
        encoder = new BertEncoder(settings, config.NumHiddenLayers, index => new BertLayerLayout("attention", PreLayerNorm: false,
            index % config.CrossAttentionFrequency == 0 ? imageWidth : null, FeedForwardSuffix: "_query"));
        RegisterComponents();
    }

    /// <summary>The query tokens' last hidden state after reading <paramref name="imageEmbeds"/> (every position attended).</summary>
    public Tensor Forward(Tensor queryEmbeds, Tensor imageEmbeds)
    {
        using var normalized = layernorm.forward(queryEmbeds);
        using var dropped = dropout.forward(normalized);
        return encoder.Forward(dropped, additiveMask: null, imageEmbeds);
    }
}

/// <summary>
/// <c>Blip2ForConditionalGeneration</c> with OPT (<c>Salesforce/blip2-opt-2.7b</c>). The image stages
/// (<see cref="EncodeImage"/>, <see cref="QueryImage"/>) run once per image; their output starts any number of
/// prompts (<see cref="StartPrompt"/>).
/// </summary>
public sealed class Blip2ForConditionalGeneration : Module
{
    private readonly BlipVisionModel vision_model;
    private readonly Parameter query_tokens;
    private readonly Blip2QFormerModel qformer;
    private readonly Linear language_projection;
    private readonly OptForCausalLM language_model;

    public Blip2ForConditionalGeneration(Blip2Config config) : base(nameof(Blip2ForConditionalGeneration))
    {
        Config = config;
        vision_model = new BlipVisionModel(config.VisionConfig);
        query_tokens = Parameter(NewZeros(1, config.NumQueryTokens, config.QFormerConfig.HiddenSize));
        qformer = new Blip2QFormerModel(config.QFormerConfig, config.QFormerEncoderWidth);
        language_projection = NewLinear(config.QFormerConfig.HiddenSize, config.TextConfig.HiddenSize);
        language_model = new OptForCausalLM(config.TextConfig);
        RegisterComponents();
    }

    public Blip2Config Config { get; }

    /// <summary>
    /// safetensors files omit <c>language_model.lm_head.weight</c>, tied to the token embeddings (transformers drops
    /// tied duplicates when saving).
    /// </summary>
    public static LoadOptions LoadOptions { get; } = new()
    {
        TiedWeights = new Dictionary<string, string>
        {
            ["language_model.lm_head.weight"] = "language_model.model.decoder.embed_tokens.weight",
        },
    };

    /// <summary>The vision transformer's last hidden state (batch, 1 + patches, vision width).</summary>
    public Tensor EncodeImage(Tensor pixelValues) => vision_model.forward(pixelValues);

    /// <summary>The Q-Former's query states for <paramref name="imageEmbeds"/> (batch, query tokens, Q-Former width).</summary>
    public Tensor QueryImage(Tensor imageEmbeds)
    {
        using var queries = query_tokens.expand(imageEmbeds.shape[0], -1, -1);
        return qformer.Forward(queries, imageEmbeds);
    }

    /// <summary>The query states projected into the language model's embedding space (<c>language_model_inputs</c>).</summary>
    public Tensor ProjectQueries(Tensor queryStates) => language_projection.forward(queryStates);

    /// <summary>
    /// The language model's logits over <c>[query embeddings; prompt embeddings]</c> (batch, queries + prompt,
    /// vocabulary), as <c>Blip2ForConditionalGeneration.forward(pixel_values, input_ids, attention_mask).logits</c>.
    /// </summary>
    public Tensor Logits(Tensor pixelValues, Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var languageInputs = ProjectQueries(QueryImage(EncodeImage(pixelValues)));
        var (embeds, mask) = PromptInputs(languageInputs, inputIds, attentionMask);
        var caches = Enumerable.Range(0, language_model.Layers).Select(_ => new AttentionCache()).ToArray();
        try
        {
            return language_model.Logits(embeds, mask, caches).MoveToOuterDisposeScope();
        }
        finally
        {
            foreach (var cache in caches) cache.Dispose();
        }
    }

    /// <summary>
    /// A decoder that has not yet read its prompt: <paramref name="languageInputs"/> (one image's projected queries per
    /// row) followed by the prompt tokens <paramref name="inputIds"/> with <paramref name="attentionMask"/>. Pad
    /// batched prompts on the left: positions count attended tokens, so each row then decodes as it would alone.
    /// </summary>
    public OptPromptDecoder StartPrompt(Tensor languageInputs, Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var (embeds, mask) = PromptInputs(languageInputs, inputIds, attentionMask);
        return new OptPromptDecoder(language_model, embeds, mask);
    }

    private (Tensor Embeds, Tensor Mask) PromptInputs(Tensor languageInputs, Tensor inputIds, Tensor attentionMask)
    {
        var tokens = language_model.EmbedTokens(inputIds).to(languageInputs.dtype);
        var queryMask = ones(languageInputs.shape[0], languageInputs.shape[1], dtype: int64, device: languageInputs.device);
        return (cat([languageInputs, tokens], dim: 1), cat([queryMask, attentionMask.to(int64)], dim: 1));
    }

    /// <summary>
    /// The settings <c>Blip2ForConditionalGeneration.generate</c> hands the language model: eos, pad and bos of the text
    /// config; with <paramref name="maxNewTokens"/>, that many new tokens at most; otherwise <c>max_length</c> raised by
    /// the query count less one and then lowered by the whole embedded input (queries + <paramref name="promptLength"/>),
    /// and <c>min_length</c> likewise, as 4.40.2 does. The returned ids start with the bos BLIP-2 prepends.
    /// </summary>
    public GenerationSettings GenerationSettings(int promptLength, int? maxNewTokens = null, int numBeams = 1,
        double lengthPenalty = 1.0, EarlyStopping earlyStopping = EarlyStopping.Heuristic, int maxLength = 20, int minLength = 0)
    {
        var text = Config.TextConfig;
        var queries = Config.NumQueryTokens;
        var embedded = queries + promptLength;
        var newTokens = maxNewTokens ?? maxLength + queries - 1 - embedded;
        if (newTokens < 1)
            throw new Pipelines.InvalidGenerationOptionsException(
                $"max_length {maxLength} leaves no room to answer after a {promptLength}-token prompt; set max new tokens.");
        return new GenerationSettings
        {
            // Generation starts from embeddings alone; the bos is prepended to the output afterwards, so it counts as
            // a prompt id here: lengths below are the new tokens plus one.
            PromptIds = [text.BosTokenId ?? 2],
            MaxLength = newTokens + 1,
            MinLength = Math.Max(minLength + queries - embedded, 0) + 1,
            EosTokenId = text.EosTokenId ?? 2,
            PadTokenId = text.PadTokenId ?? 1,
            NumBeams = numBeams,
            LengthPenalty = lengthPenalty,
            EarlyStopping = earlyStopping,
        };
    }
}

/// <summary>The OPT decoder mid-generation: the attention mask so far and each block's key/value cache.</summary>
public sealed class OptPromptDecoder : IAutoregressiveDecoder, IDeviceDecoder
{
    private readonly OptForCausalLM model;
    private readonly AttentionCache[] caches;
    private Tensor? promptEmbeds;
    private Tensor attentionMask;

    internal OptPromptDecoder(OptForCausalLM model, Tensor promptEmbeds, Tensor attentionMask)
    {
        this.model = model;
        this.promptEmbeds = promptEmbeds.DetachFromDisposeScope();
        this.attentionMask = attentionMask.DetachFromDisposeScope();
        caches = Enumerable.Range(0, model.Layers).Select(_ => new AttentionCache()).ToArray();
    }

    public int Rows => (int)attentionMask.shape[0];

    public Device Device => attentionMask.device;

    public Tensor NextTokenLogits(Tensor? tokens)
    {
        using var scope = NewDisposeScope();
        Tensor embeds;
        if (tokens is null)
        {
            // The prompt is read once; its embeddings are released with this step's other tensors.
            embeds = promptEmbeds?.alias() ?? throw new InvalidOperationException("the prompt has been read already; pass the next tokens.");
            promptEmbeds.Dispose();
            promptEmbeds = null;
        }
        else
        {
            embeds = model.EmbedTokens(tokens.view(Rows, 1));
            var grown = cat([attentionMask, ones(Rows, 1, dtype: int64, device: Device)], dim: 1).DetachFromDisposeScope();
            attentionMask.Dispose();
            attentionMask = grown;
        }
        var logits = model.Logits(embeds, attentionMask, caches);
        return logits[.., -1].MoveToOuterDisposeScope();
    }

    public void SelectRows(Tensor rows)
    {
        foreach (var cache in caches) cache.SelectRows(rows);
        var mask = attentionMask.index_select(0, rows).DetachFromDisposeScope();
        attentionMask.Dispose();
        attentionMask = mask;
        if (promptEmbeds is not null)
        {
            var embeds = promptEmbeds.index_select(0, rows).DetachFromDisposeScope();
            promptEmbeds.Dispose();
            promptEmbeds = embeds;
        }
    }

    public void Dispose()
    {
        foreach (var cache in caches) cache.Dispose();
        promptEmbeds?.Dispose();
        attentionMask.Dispose();
    }
}
