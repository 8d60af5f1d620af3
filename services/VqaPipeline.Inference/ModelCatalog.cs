using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Storage;
using VqaPipeline.Hosting;

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
/// Loads each model once per process, by the name a job gives, resolved by the <see cref="ModelLocator"/>: a folder, a
/// bundled model, a Hub id (from the Hub cache, downloading only when the Hub settings allow), or
/// <c>models/{name}/{version}</c> downloaded from object storage — the job's team's, so it is kept per team.
/// </summary>
public sealed class ModelCatalog(ModelLocator locator, IOptions<InferenceOptions> options, ILogger<ModelCatalog> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<LoadedModel>>> _models = new(StringComparer.Ordinal);

    /// <summary>
    /// The model named <paramref name="model"/> by a job of <paramref name="team"/>; a failed load is forgotten so
    /// that a later call retries it.
    /// </summary>
    public async Task<LoadedModel> GetAsync(string model, Guid team, CancellationToken cancellationToken)
    {
        // A stored model's name means another model in each team; every other kind is the same model for all.
        var key = locator.Parse(model).Reference?.Kind == ModelKind.Stored ? $"{team:D}:{model}" : model;
        var entry = _models.GetOrAdd(key, _ => new Lazy<Task<LoadedModel>>(() => LoadAsync(model, team, CancellationToken.None)));
        try
        {
            return await entry.Value.WaitAsync(cancellationToken);
        }
        catch when (entry.Value.IsFaulted)
        {
            _models.TryRemove(KeyValuePair.Create(key, entry));
            throw;
        }
    }

    private async Task<LoadedModel> LoadAsync(string model, Guid team, CancellationToken cancellationToken)
    {
        var located = await locator.ResolveAsync(model, team, cancellationToken);
        var engineOptions = new VqaEngineOptions
        {
            BatchSize = options.Value.EngineBatchSize, Threads = options.Value.Threads, Device = options.Value.Device,
        };
        var engine = await VqaEngine.FromPretrainedAsync(located.Folder, engineOptions, cancellationToken);
        logger.LogInformation("Loaded model {Model} as version {Version} from {Folder} on {Runtime}", LogText.Sanitize(model), LogText.Sanitize(located.Version),
            engine.ModelFolder, engine.Runtime);
        if (engine.LoadWarning is { } warning)
            logger.LogWarning("Model {Model}: {Warning}", LogText.Sanitize(model), warning);
        if (engine.RuntimeWarning is { } runtimeWarning)
            logger.LogWarning("Model {Model}: {Warning}", LogText.Sanitize(model), runtimeWarning);
        return new LoadedModel(engine, located.Version);
    }

    public void Dispose()
    {
        foreach (var entry in _models.Values)
            if (entry.IsValueCreated && entry.Value.IsCompletedSuccessfully)
                entry.Value.Result.Engine.Dispose();
    }
}
