using System.Text.Json.Serialization;
using VqaPipeline.Ml.Checkpoints;

namespace VqaPipeline.Ml.Models.Blip;

/// <summary>
/// transformers 4.40.2 <c>BlipVisionConfig</c>: the ViT image encoder of BLIP. BLIP-2's vision config
/// (<see cref="Blip2.Blip2VisionConfig"/>) has the same fields with other defaults.
/// </summary>
public class BlipVisionConfig : PretrainedConfig
{
    public BlipVisionConfig() : this("blip_vision_model")
    {
    }

    protected BlipVisionConfig(string modelType) : base(modelType)
    {
    }

    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 12;
    [JsonPropertyName("image_size")] public int ImageSize { get; set; } = 384;
    [JsonPropertyName("patch_size")] public int PatchSize { get; set; } = 16;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "gelu";
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-5;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; set; }
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 1e-10;

    /// <summary>Whether the packed qkv projection has a bias (BLIP's always does; BLIP-2's by <c>qkv_bias</c>).</summary>
    [JsonIgnore] public virtual bool HasQkvBias => true;
}

/// <summary>transformers 4.40.2 <c>BlipTextConfig</c>: the BERT text encoder and decoder of BLIP.</summary>
public sealed class BlipTextConfig : PretrainedConfig
{
    public BlipTextConfig() : base("blip_text_model")
    {
        BosTokenId = 30522;
        EosTokenId = 2;
        PadTokenId = 0;
        IsDecoder = true;
    }

    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 30524;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;
    [JsonPropertyName("encoder_hidden_size")] public int EncoderHiddenSize { get; set; } = 768;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;
    [JsonPropertyName("projection_dim")] public int ProjectionDim { get; set; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 8;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 512;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "gelu";
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-12;
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; set; }
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; set; }
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    /// <summary>[SEP]: the end of a generated answer.</summary>
    [JsonPropertyName("sep_token_id")] public int SepTokenId { get; set; } = 102;
    [JsonPropertyName("use_cache")] public bool UseCache { get; set; } = true;
    [JsonPropertyName("label_smoothing")] public double LabelSmoothing { get; set; }
}

/// <summary>transformers 4.40.2 <c>BlipConfig</c> (<c>model_type</c> "blip"), e.g. <c>Salesforce/blip-vqa-base</c>.</summary>
public sealed class BlipConfig : PretrainedConfig
{
    public BlipConfig() : base("blip")
    {
    }

    [JsonPropertyName("text_config")] public BlipTextConfig TextConfig { get; set; } = new();
    [JsonPropertyName("vision_config")] public BlipVisionConfig VisionConfig { get; set; } = new();
    [JsonPropertyName("projection_dim")] public int ProjectionDim { get; set; } = 512;
    [JsonPropertyName("logit_scale_init_value")] public double LogitScaleInitValue { get; set; } = 2.6592;
    [JsonPropertyName("image_text_hidden_size")] public int ImageTextHiddenSize { get; set; } = 256;
    [JsonPropertyName("label_smoothing")] public double LabelSmoothing { get; set; }
    [JsonPropertyName("initializer_factor")] public double InitializerFactor { get; set; } = 1.0;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
}
