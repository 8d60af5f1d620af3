using System.Text.Json.Serialization;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Models.Opt;

namespace VqaPipeline.Ml.Models.Blip2;

/// <summary>transformers 4.40.2 <c>Blip2VisionConfig</c>: BLIP's vision transformer with EVA-CLIP-g defaults.</summary>
public sealed class Blip2VisionConfig : BlipVisionConfig
{
    public Blip2VisionConfig() : base("blip_2_vision_model")
    {
        HiddenSize = 1408;
        IntermediateSize = 6144;
        NumHiddenLayers = 39;
        NumAttentionHeads = 16;
        ImageSize = 224;
        PatchSize = 14;
        LayerNormEps = 1e-6;
    }

    [JsonPropertyName("qkv_bias")] public bool QkvBias { get; set; } = true;

    public override bool HasQkvBias => QkvBias;
}

/// <summary>transformers 4.40.2 <c>Blip2QFormerConfig</c>: the querying transformer between image and language model.</summary>
public sealed class Blip2QFormerConfig : PretrainedConfig
{
    public Blip2QFormerConfig() : base("blip_2_qformer")
    {
        PadTokenId = 0;
    }

    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 30522;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 12;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "gelu";
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; set; } = 0.1;
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; set; } = 0.1;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 512;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-12;
    [JsonPropertyName("position_embedding_type")] public string PositionEmbeddingType { get; set; } = "absolute";
    /// <summary>A block cross-attends to the image when its index is a multiple of this.</summary>
    [JsonPropertyName("cross_attention_frequency")] public int CrossAttentionFrequency { get; set; } = 2;
    /// <summary>
    /// Width of the image states as the file says; <c>Blip2Config</c> replaces it with the vision hidden size, so the
    /// model reads <see cref="Blip2Config.QFormerEncoderWidth"/> instead.
    /// </summary>
    [JsonPropertyName("encoder_hidden_size")] public int EncoderHiddenSize { get; set; } = 1408;
}

/// <summary>
/// transformers 4.40.2 <c>Blip2Config</c> (<c>model_type</c> "blip-2"), e.g. <c>Salesforce/blip2-opt-2.7b</c>. Only
/// OPT language models are supported (the decoder-only BLIP-2 checkpoints).
/// </summary>
public sealed class Blip2Config : PretrainedConfig
{
    public Blip2Config() : base("blip-2")
    {
    }

    [JsonPropertyName("vision_config")] public Blip2VisionConfig VisionConfig { get; set; } = new();

    [JsonPropertyName("qformer_config")] public Blip2QFormerConfig QFormerConfig { get; set; } = new();

    [JsonPropertyName("text_config")] public OptConfig TextConfig { get; set; } = new();

    /// <summary>The Q-Former cross-attends to states of the vision width, whatever qformer_config says (as in transformers).</summary>
    [JsonIgnore] public int QFormerEncoderWidth => VisionConfig.HiddenSize;

    [JsonPropertyName("num_query_tokens")] public int NumQueryTokens { get; set; } = 32;

    [JsonPropertyName("initializer_factor")] public double InitializerFactor { get; set; } = 1.0;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
}
