using System.Text.Json;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Models.Blip2;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>Reads a model folder's config.json into the config class its <c>model_type</c> names.</summary>
public static class ModelConfig
{
    public const string FileName = "config.json";

    /// <summary>model_type → config class. A new model family adds its line here.</summary>
    private static readonly Dictionary<string, Type> ConfigTypes = new(StringComparer.Ordinal)
    {
        ["vilt"] = typeof(ViltConfig),
        ["blip"] = typeof(BlipConfig),
        ["blip-2"] = typeof(Blip2Config),
    };

    /// <summary>The <c>model_type</c> values <see cref="Load"/> understands.</summary>
    public static IReadOnlyCollection<string> SupportedModelTypes => ConfigTypes.Keys;

    /// <summary>Reads <c>&lt;folder&gt;/config.json</c> and returns it as the typed config of its model_type.</summary>
    public static PretrainedConfig Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            throw new ModelNotFoundException($"'{folder}' has no {FileName}");

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException($"'{path}' is not a JSON object");
            var supported = string.Join(", ", SupportedModelTypes);
            if (!root.TryGetProperty("model_type", out var modelType) || modelType.ValueKind != JsonValueKind.String)
                throw new UnsupportedModelException($"'{path}' has no model_type; supported model types: {supported}");
            var name = modelType.GetString()!;
            if (!ConfigTypes.TryGetValue(name, out var configType))
                throw new UnsupportedModelException($"'{folder}' is a '{name}' model, which is not supported; supported model types: {supported}");
            var config = (PretrainedConfig)root.Deserialize(configType, PretrainedConfig.SerializerOptions)!;
            ApplyNumLabels(path, root, config);
            return config;
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException($"'{path}' is not a valid config: {e.Message}", e);
        }
    }

    /// <summary>
    /// transformers reads <c>num_labels</c> as a constructor argument, never stores it, and uses it only when the file
    /// has no <c>id2label</c>.
    /// </summary>
    private static void ApplyNumLabels(string path, JsonElement root, PretrainedConfig config)
    {
        if (!config.ExtensionData.Remove("num_labels", out var numLabels) || root.TryGetProperty("id2label", out _))
            return;
        if (numLabels.ValueKind != JsonValueKind.Number || !numLabels.TryGetInt32(out var count) || count < 0)
            throw new CheckpointFormatException($"'{path}': num_labels must be a non-negative integer");
        config.NumLabels = count;
    }

    /// <summary>Like <see cref="Load"/>, and checks the folder holds a <typeparamref name="TConfig"/> model.</summary>
    public static TConfig Load<TConfig>(string folder) where TConfig : PretrainedConfig
    {
        var config = Load(folder);
        return config as TConfig ?? throw new UnsupportedModelException(
            $"'{folder}' is a '{config.ModelType}' model; expected {typeof(TConfig).Name}");
    }
}
