using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// The fields every transformers config shares, under their config.json names and transformers' defaults. Fields no
/// typed property knows are kept in <see cref="ExtensionData"/> and written back unchanged, so a config survives a
/// load/save round trip whole. Model configs derive from it with a public parameterless constructor that sets
/// transformers' defaults (saving compares against them).
/// </summary>
public class PretrainedConfig
{
    /// <summary>The transformers version this engine reproduces; written when a config carries none.</summary>
    public const string ReferenceTransformersVersion = "4.40.2";

    internal static readonly JsonSerializerOptions SerializerOptions = new()
    {
        Converters = { new PythonJson.FloatConverter() },
        MaxDepth = 32,
    };

    public PretrainedConfig() : this("")
    {
    }

    /// <summary>For model configs: <paramref name="modelType"/> is the config.json <c>model_type</c> they stand for.</summary>
    protected PretrainedConfig(string modelType)
    {
        ModelType = modelType;
    }

    /// <summary>The config.json <c>model_type</c> this class stands for (empty for the base class).</summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; }

    [JsonPropertyName("architectures")]
    public List<string>? Architectures { get; set; }

    /// <summary>Class index → label. transformers' default is two labels, LABEL_0 and LABEL_1.</summary>
    [JsonPropertyName("id2label")]
    public Dictionary<int, string> Id2Label { get; set; } = new() { [0] = "LABEL_0", [1] = "LABEL_1" };

    [JsonPropertyName("label2id")]
    public Dictionary<string, int> Label2Id { get; set; } = new() { ["LABEL_0"] = 0, ["LABEL_1"] = 1 };

    /// <summary>
    /// Number of classification labels (transformers' <c>num_labels</c>): the size of <see cref="Id2Label"/>. Setting a
    /// different count replaces both label maps with LABEL_0…LABEL_n-1, as transformers does.
    /// </summary>
    [JsonIgnore]
    public int NumLabels
    {
        get => Id2Label.Count;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            if (value == Id2Label.Count)
                return;
            Id2Label = Enumerable.Range(0, value).ToDictionary(i => i, i => $"LABEL_{i}");
            Label2Id = Id2Label.ToDictionary(pair => pair.Value, pair => pair.Key);
        }
    }

    /// <summary>The dtype the weights were saved in ("float32", "bfloat16"…), or null.</summary>
    [JsonPropertyName("torch_dtype")]
    public string? TorchDtype { get; set; }

    [JsonPropertyName("transformers_version")]
    public string TransformersVersion { get; set; } = ReferenceTransformersVersion;

    [JsonPropertyName("tie_word_embeddings")]
    public bool TieWordEmbeddings { get; set; } = true;

    [JsonPropertyName("is_encoder_decoder")]
    public bool IsEncoderDecoder { get; set; }

    [JsonPropertyName("is_decoder")]
    public bool IsDecoder { get; set; }

    [JsonPropertyName("add_cross_attention")]
    public bool AddCrossAttention { get; set; }

    [JsonPropertyName("problem_type")]
    public string? ProblemType { get; set; }

    [JsonPropertyName("pad_token_id")]
    public int? PadTokenId { get; set; }

    [JsonPropertyName("bos_token_id")]
    public int? BosTokenId { get; set; }

    [JsonPropertyName("eos_token_id")]
    public int? EosTokenId { get; set; }

    /// <summary>Every config.json field no typed property covers, kept verbatim.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement> ExtensionData { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The config.json text transformers' <c>save_pretrained</c> would write: base fields only where they differ from
    /// the defaults (of <see cref="PretrainedConfig"/> or of this class), every model field, every unknown field, keys
    /// sorted, indent 2, trailing newline.
    /// </summary>
    public string ToJsonString()
    {
        var fields = ToJsonObject(this);
        var baseDefaults = ToJsonObject(new PretrainedConfig());
        var classDefaults = ToJsonObject((PretrainedConfig)Activator.CreateInstance(GetType())!);
        foreach (var (key, baseDefault) in baseDefaults)
        {
            if (key is "transformers_version" or "model_type" || !fields.ContainsKey(key))
                continue;
            if (JsonNode.DeepEquals(fields[key], baseDefault) && JsonNode.DeepEquals(fields[key], classDefaults[key]))
                fields.Remove(key);
        }
        return PythonJson.Serialize(fields) + "\n";
    }

    /// <summary>Writes <see cref="ToJsonString"/> to <c>config.json</c> in <paramref name="folder"/>, creating it if needed.</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ModelConfig.FileName), ToJsonString());
    }

    private static JsonObject ToJsonObject(PretrainedConfig config) =>
        JsonSerializer.SerializeToNode(config, config.GetType(), SerializerOptions)!.AsObject();
}
