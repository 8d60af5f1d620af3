using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Storage;

namespace VqaPipeline.Inference;

/// <summary>A loaded model and the version its answers are stored under.</summary>
/// <param name="Engine">The engine; one forward pass at a time (see <see cref="Gate"/>).</param>
/// <param name="Version">Stable across processes: <c>models/{name}/{version}</c>, <c>org/name@commit</c>, or a folder with its weights' hash.</param>
public sealed record LoadedModel(VqaEngine Engine, string Version)
{
    /// <summary>Serialises use of <see cref="Engine"/>: libtorch already spreads one pass over every core.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);
}

/// <summary>
/// Loads each model once per process, by the name a job gives: a folder, a Hub id (from the Hub cache, downloading
/// only when the Hub settings allow), or <c>models/{name}/{version}</c> downloaded from object storage into
/// <see cref="InferenceOptions.ModelCacheDir"/>.
/// </summary>
public sealed class ModelCatalog(ObjectStore store, IOptions<InferenceOptions> options, ILogger<ModelCatalog> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<LoadedModel>>> _models = new(StringComparer.Ordinal);

    /// <summary>The model named <paramref name="model"/>; a failed load is forgotten so that a later call retries it.</summary>
    public async Task<LoadedModel> GetAsync(string model, CancellationToken cancellationToken)
    {
        var entry = _models.GetOrAdd(model, name => new Lazy<Task<LoadedModel>>(() => LoadAsync(name, CancellationToken.None)));
        try
        {
            return await entry.Value.WaitAsync(cancellationToken);
        }
        catch when (entry.Value.IsFaulted)
        {
            _models.TryRemove(KeyValuePair.Create(model, entry));
            throw;
        }
    }

    private async Task<LoadedModel> LoadAsync(string model, CancellationToken cancellationToken)
    {
        var (source, version) = await LocateAsync(model, cancellationToken);
        var engineOptions = new VqaEngineOptions { BatchSize = options.Value.EngineBatchSize, Threads = options.Value.Threads };
        var engine = await VqaEngine.FromPretrainedAsync(source, engineOptions, cancellationToken);
        logger.LogInformation("Loaded model {Model} as version {Version} from {Folder}", model, version, engine.ModelFolder);
        if (engine.LoadWarning is { } warning)
            logger.LogWarning("Model {Model}: {Warning}", model, warning);
        return new LoadedModel(engine, version);
    }

    private async Task<(string Source, string Version)> LocateAsync(string model, CancellationToken cancellationToken)
    {
        if (StoredModel.TryParse(model) is { } stored)
            return (await store.DownloadModelAsync(stored, options.Value.ModelCacheDir, cancellationToken), stored.Prefix);
        if (Directory.Exists(model))
            return (model, $"{Path.GetFullPath(model)}#{await WeightsHashAsync(model, cancellationToken)}");
        // Named, not by path, so every inference host reports the same version for the same bundled weights.
        if (BundledModels.Find(model) is { } bundled)
            return (bundled, $"{model}#{await WeightsHashAsync(bundled, cancellationToken)}");
        var folder = await ModelResolver.ResolveAsync(model, HubOptions.FromEnvironment(), cancellationToken);
        return (folder, $"{ModelId.Parse(model).RepoId}@{Path.GetFileName(folder)}");
    }

    private static async Task<string> WeightsHashAsync(string folder, CancellationToken cancellationToken)
    {
        var weights = ModelResolver.WeightFiles.Select(name => Path.Combine(folder, name)).FirstOrDefault(File.Exists)
                      ?? Path.Combine(folder, ModelResolver.ConfigFile);
        await using var file = File.OpenRead(weights);
        return "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken))[..16];
    }

    public void Dispose()
    {
        foreach (var entry in _models.Values)
            if (entry.IsValueCreated && entry.Value.IsCompletedSuccessfully)
                entry.Value.Result.Engine.Dispose();
    }
}
