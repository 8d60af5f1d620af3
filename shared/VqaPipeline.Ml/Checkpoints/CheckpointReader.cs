using System.Text.Json;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// Reads the weights of a model folder as <c>save_pretrained</c> writes them, in the order transformers prefers:
/// model.safetensors, model.safetensors.index.json (sharded), pytorch_model.bin, pytorch_model.bin.index.json.
/// </summary>
public static class CheckpointReader
{
    /// <summary>Weight file names in the order they are looked for.</summary>
    public static IReadOnlyList<string> WeightFileNames { get; } =
        ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"];

    /// <summary>Reads the first weight file of <see cref="WeightFileNames"/> present in <paramref name="folder"/>.</summary>
    public static StateDict ReadFolder(string folder)
    {
        foreach (var name in WeightFileNames)
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path))
                return ReadFile(path);
        }
        throw new ModelNotFoundException(
            $"'{folder}' has no weights: expected one of {string.Join(", ", WeightFileNames)}");
    }

    /// <summary>
    /// Reads one weight file, chosen by extension: <c>.safetensors</c>, <c>.bin</c>/<c>.pt</c>/<c>.pth</c> (torch zip
    /// format, restricted unpickling), or <c>.index.json</c> (a shard index).
    /// </summary>
    public static StateDict ReadFile(string path)
    {
        if (!File.Exists(path))
            throw new ModelNotFoundException($"Checkpoint file '{path}' does not exist");
        if (path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase))
            return ReadSharded(path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".safetensors" => Safetensors.Read(path),
            ".bin" or ".pt" or ".pth" => TorchCheckpoint.Read(path),
            var extension => throw new CheckpointFormatException(
                $"'{path}' has extension '{extension}'; expected .safetensors, .bin, .pt, .pth or .index.json"),
        };
    }

    private static StateDict ReadSharded(string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var shards = new Dictionary<string, StateDict>(StringComparer.Ordinal);
        try
        {
            foreach (var shardName in weightMap.Values)
            {
                if (!shards.ContainsKey(shardName))
                    shards[shardName] = ReadShard(indexPath, folder, shardName);
            }
            foreach (var (key, shardName) in weightMap)
            {
                if (!shards[shardName].ContainsKey(key))
                    throw new CheckpointFormatException($"'{indexPath}' maps '{key}' to '{shardName}', which does not hold it");
            }

            var tensors = new List<CheckpointTensor>();
            var shardOf = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (shardName, shard) in shards)
            {
                foreach (var tensor in shard.Values)
                {
                    if (!shardOf.TryAdd(tensor.Name, shardName))
                        throw new CheckpointFormatException(
                            $"'{indexPath}': tensor '{tensor.Name}' is in both '{shardOf[tensor.Name]}' and '{shardName}'");
                    tensors.Add(tensor);
                }
            }
            return new StateDict(tensors, new Dictionary<string, string>(), shards.Values.ToList());
        }
        catch
        {
            foreach (var shard in shards.Values)
                shard.Dispose();
            throw;
        }
    }

    private static StateDict ReadShard(string indexPath, string folder, string shardName)
    {
        if (shardName.Length == 0 || shardName != Path.GetFileName(shardName) || shardName is "." or ".."
            || shardName.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            throw new CheckpointFormatException($"'{indexPath}' names shard '{shardName}', which is not a weight file in its folder");
        var shardPath = Path.Combine(folder, shardName);
        if (!File.Exists(shardPath))
            throw new ModelNotFoundException($"'{indexPath}' names shard '{shardName}', which is missing from '{folder}'");
        return ReadFile(shardPath);
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException($"'{indexPath}' has no weight_map object");

            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointFormatException($"'{indexPath}': weight_map entry '{entry.Name}' is not a file name");
                weightMap[entry.Name] = entry.Value.GetString()!;
            }
            return weightMap;
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException($"'{indexPath}' is not valid JSON: {e.Message}", e);
        }
    }
}
