using System.Text.Json;

namespace VqaPipeline.Ml.Checkpoints.Hub;

/// <summary>Turns what a user typed after <c>--model</c> into a local folder holding the model's files.</summary>
public static class ModelResolver
{
    public const string ConfigFile = "config.json";
    public const string SafetensorsFile = "model.safetensors";
    public const string SafetensorsIndexFile = "model.safetensors.index.json";
    public const string PytorchFile = "pytorch_model.bin";

    /// <summary>Tokenizer, processor and generation files; a repository has some of them.</summary>
    public static IReadOnlyList<string> OptionalFiles { get; } =
    [
        "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json", "added_tokens.json",
        "preprocessor_config.json", "generation_config.json", "merges.txt", "vocab.json",
    ];

    /// <summary>Weight files in the order transformers prefers them; the first the repository has is used.</summary>
    public static IReadOnlyList<string> WeightFiles { get; } = [SafetensorsFile, SafetensorsIndexFile, PytorchFile];

    /// <summary>
    /// An existing local folder is returned as it is, then a bundled model's name (<see cref="BundledModels"/>) gives
    /// that model's folder. Anything else is a Hub id (<c>org/name[@revision]</c>): its
    /// config, its weights (single safetensors, else sharded safetensors, else <c>pytorch_model.bin</c>) and whichever
    /// tokenizer/processor files it has are brought into the Hub cache, and the snapshot folder is returned.
    /// </summary>
    /// <exception cref="HubException">Not a folder nor a valid id, or the model cannot be found or downloaded.</exception>
    public static async Task<string> ResolveAsync(string modelIdOrPath, HubOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelIdOrPath);
        if (Directory.Exists(modelIdOrPath))
            return Path.GetFullPath(modelIdOrPath);
        if (BundledModels.Find(modelIdOrPath) is { } bundled)
            return bundled;
        var model = ParseHubId(modelIdOrPath);
        using var client = new HubClient(options);
        var snapshot = await client.SnapshotAsync(model, [ConfigFile], OptionalFiles, cancellationToken).ConfigureAwait(false);
        var commit = Path.GetFileName(snapshot);
        await FetchWeightsAsync(client, model, commit, cancellationToken).ConfigureAwait(false);
        return snapshot;
    }

    private static async Task FetchWeightsAsync(HubClient client, ModelId model, string commit,
        CancellationToken cancellationToken)
    {
        HubException? firstUnavailable = null;
        foreach (var candidate in WeightFiles)
        {
            var fetched = await client.FetchAsync(model, candidate, commit, cancellationToken).ConfigureAwait(false);
            if (fetched.Unavailable is { } error)
            {
                firstUnavailable ??= error;
                continue;
            }
            if (fetched.Path is null)
                continue;
            if (candidate == SafetensorsIndexFile)
            {
                foreach (var shard in ShardsOf(model, fetched.Path))
                {
                    var shardFetched = await client.FetchAsync(model, shard, commit, cancellationToken).ConfigureAwait(false);
                    if (shardFetched.Unavailable is { } shardError)
                        throw shardError;
                    if (shardFetched.Path is null)
                        throw HubClient.MissingFile(model, shard);
                }
            }
            return;
        }
        throw firstUnavailable ?? new HubException(HubErrorReason.FileNotFound,
            $"model '{model.RepoId}' has no weights at revision {model.Revision}: none of {string.Join(", ", WeightFiles)}");
    }

    /// <summary>The distinct shard files named by a safetensors index's <c>weight_map</c>, in first-use order.</summary>
    private static IReadOnlyList<string> ShardsOf(ModelId model, string indexPath)
    {
        try
        {
            using var index = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            var shards = index.RootElement.GetProperty("weight_map").EnumerateObject()
                .Select(entry => entry.Value.GetString() ?? throw new FormatException("a shard name is not a string"))
                .Distinct(StringComparer.Ordinal)
                .ToList();
            foreach (var shard in shards)
                HubClient.CheckRepositoryPath(shard);
            return shards;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException
                                      or FormatException or ArgumentException)
        {
            throw new HubException(HubErrorReason.FileNotFound,
                $"model '{model.RepoId}' has an unusable {SafetensorsIndexFile} at revision {model.Revision}: {e.Message}", e);
        }
    }

    private static ModelId ParseHubId(string text) =>
        ModelId.TryParse(text, out var model, out var problem)
            ? model
            : throw new HubException(HubErrorReason.InvalidModelId,
                $"'{text}' is neither an existing folder nor a Hub model id (org/name[@revision]): {problem}");
}
