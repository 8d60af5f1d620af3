using System.Text.Json.Serialization;
using VqaPipeline.Ml.Checkpoints;

namespace VqaPipeline.Ml.Models.Opt;

/// <summary>transformers 4.40.2 <c>OPTConfig</c>: the decoder-only language model of BLIP-2 OPT checkpoints.</summary>
public sealed class OptConfig : PretrainedConfig
{
    public OptConfig() : base("opt")
    {
        PadTokenId = 1;
        BosTokenId = 2;
        EosTokenId = 2;
    }

    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 50272;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    [JsonPropertyName("ffn_dim")] public int FfnDim { get; set; } = 3072;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 2048;
    [JsonPropertyName("do_layer_norm_before")] public bool DoLayerNormBefore { get; set; } = true;
    [JsonPropertyName("_remove_final_layer_norm")] public bool RemoveFinalLayerNorm { get; set; }
    /// <summary>Width of the token embeddings; null means <see cref="HiddenSize"/> (no projections in and out).</summary>
    [JsonPropertyName("word_embed_proj_dim")] public int? WordEmbedProjDim { get; set; }
    [JsonPropertyName("dropout")] public double Dropout { get; set; } = 0.1;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; set; }
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 12;
    [JsonPropertyName("activation_function")] public string ActivationFunction { get; set; } = "relu";
    [JsonPropertyName("layerdrop")] public double LayerDrop { get; set; }
    [JsonPropertyName("init_std")] public double InitStd { get; set; } = 0.02;
    [JsonPropertyName("use_cache")] public bool UseCache { get; set; } = true;
    [JsonPropertyName("enable_bias")] public bool EnableBias { get; set; } = true;
    [JsonPropertyName("layer_norm_elementwise_affine")] public bool LayerNormElementwiseAffine { get; set; } = true;

    /// <summary>The token embedding width actually used.</summary>
    [JsonIgnore] public int EmbeddingWidth => WordEmbedProjDim ?? HiddenSize;
}
