using System.Text.Json.Serialization;
using VqaPipeline.Ml.Checkpoints;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>transformers 4.40.2 <c>ViltConfig</c>: every field under its config.json name, with its default.</summary>
public sealed class ViltConfig : PretrainedConfig
{
    public ViltConfig() : base("vilt")
    {
        TieWordEmbeddings = false;
    }

    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; set; } = 30522;

    [JsonPropertyName("type_vocab_size")]
    public int TypeVocabSize { get; set; } = 2;

    [JsonPropertyName("modality_type_vocab_size")]
    public int ModalityTypeVocabSize { get; set; } = 2;

    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; set; } = 40;

    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; set; } = 768;

    [JsonPropertyName("num_hidden_layers")]
    public int NumHiddenLayers { get; set; } = 12;

    [JsonPropertyName("num_attention_heads")]
    public int NumAttentionHeads { get; set; } = 12;

    [JsonPropertyName("intermediate_size")]
    public int IntermediateSize { get; set; } = 3072;

    [JsonPropertyName("hidden_act")]
    public string HiddenAct { get; set; } = "gelu";

    [JsonPropertyName("hidden_dropout_prob")]
    public double HiddenDropoutProb { get; set; } = 0.0;

    [JsonPropertyName("attention_probs_dropout_prob")]
    public double AttentionProbsDropoutProb { get; set; } = 0.0;

    [JsonPropertyName("initializer_range")]
    public double InitializerRange { get; set; } = 0.02;

    [JsonPropertyName("layer_norm_eps")]
    public double LayerNormEps { get; set; } = 1e-12;

    [JsonPropertyName("image_size")]
    public int ImageSize { get; set; } = 384;

    [JsonPropertyName("patch_size")]
    public int PatchSize { get; set; } = 32;

    [JsonPropertyName("num_channels")]
    public int NumChannels { get; set; } = 3;

    [JsonPropertyName("qkv_bias")]
    public bool QkvBias { get; set; } = true;

    /// <summary>Patches kept per image; -1 keeps all valid ones (the batch maximum).</summary>
    [JsonPropertyName("max_image_length")]
    public int MaxImageLength { get; set; } = -1;

    /// <summary>Images per example for NLVR2-style heads; -1 when not used.</summary>
    [JsonPropertyName("num_images")]
    public int NumImages { get; set; } = -1;
}
