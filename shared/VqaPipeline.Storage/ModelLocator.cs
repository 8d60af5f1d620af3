using System.Security.Cryptography;
using VqaPipeline.Ml.Checkpoints.Hub;

namespace VqaPipeline.Storage;

/// <summary>What a model reference names.</summary>
public enum ModelKind
{
    /// <summary>A model shipped with every program (<c>vilt-shapes</c>): a bare name.</summary>
    Bundled,

    /// <summary>A model version in object storage: <c>models/{name}/{version}</c>, of the caller's team.</summary>
    Stored,

    /// <summary>A folder on the disk of whoever runs the model: an absolute path (<c>/models/vilt</c>).</summary>
    Path,

    /// <summary>A Hugging Face Hub model: <c>org/name[@revision]</c>.</summary>
    Hub,
}

/// <summary>A model reference as a job, a training run or <c>vqa</c> gives it, classified by its form alone.</summary>
/// <param name="Text">The reference, trimmed; a path made absolute where the caller's own disk is meant.</param>
public sealed record ModelReference(string Text, ModelKind Kind);

/// <summary>A model brought onto local disk, and the version its answers are stored under.</summary>
/// <param name="Folder">The local model folder.</param>
/// <param name="Version">
/// Stable across processes and hosts: <c>models/{name}/{version}</c> (within its team), <c>org/name@{commit}</c>, or a folder (a bundled
/// model by its name) with its weights' hash.
/// </param>
public sealed record LocatedModel(ModelReference Reference, string Folder, string Version);

/// <summary>How model references are resolved (configuration section <c>Models</c>).</summary>
public sealed record ModelLocatorOptions
{
    public const string Section = "Models";

    /// <summary>
    /// Whether a reference may name a folder on the workers' disks. The local stack allows it; a deployment shared by
    /// teams turns it off, so that no caller probes the servers' disks.
    /// </summary>
    public bool AllowPaths { get; set; } = true;

    /// <summary>Where models from object storage (<c>models/{name}/{version}/</c>) are downloaded to.</summary>
    public string CacheDir { get; set; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vqa-models");
}

/// <summary>
/// The one place a model reference is understood, by every service and by <c>vqa</c>. A reference is classified by its
/// form (<see cref="Parse"/>); the API side checks it with <see cref="CheckAsync"/> — what every worker sees alike
/// (object storage, the bundled models), never the API host's own disk or Hub cache, which workers do not share — and
/// a worker resolves it to a local folder with <see cref="ResolveAsync"/>. Stored models belong to a team: both look
/// for <c>models/{name}/{version}</c> among the given team's models only (<see cref="StoredModel"/>), so another
/// team's model is answered exactly as one that does not exist; bundled and Hub models are open to every team.
/// </summary>
public sealed class ModelLocator(ObjectStore? store, ModelLocatorOptions options, HubOptions? hub = null)
{
    /// <summary>The options this locator was made with.</summary>
    public ModelLocatorOptions Options => options;

    /// <summary>What <paramref name="text"/> names, or why it names nothing.</summary>
    public (ModelReference? Reference, string? Problem) Parse(string text)
    {
        text = text.Trim();
        if (text.Length == 0)
            return (null, "the model is empty: name a bundled model, models/{name}/{version}, a Hub id or a folder");
        if (StoredModel.TryParse(text) is not null)
            return (new ModelReference(text.Trim('/'), ModelKind.Stored), null);
        if (text.StartsWith('/') || text.StartsWith('.') || text.StartsWith('~') || text.Contains('\\'))
        {
            if (!options.AllowPaths)
                return (null, $"model '{text}' is a folder path, and this deployment does not run models from paths: "
                              + "name a bundled model, models/{name}/{version} or a Hub id");
            return (new ModelReference(text, ModelKind.Path), null);
        }
        if (!text.Contains('/') && BundledModels.Find(text) is not null)
            return (new ModelReference(text, ModelKind.Bundled), null);
        try
        {
            ModelId.Parse(text);
            return (new ModelReference(text, ModelKind.Hub), null);
        }
        catch (HubException exception)
        {
            return (null, $"model '{text}' is neither a bundled model, nor models/{{name}}/{{version}}, nor a folder path, nor a Hub id: {exception.Message}");
        }
    }

    /// <summary>
    /// The API side's check, the same on every host: the form, and for a stored model that object storage holds it.
    /// A folder must be an absolute path (it is a worker's path, not the caller's); whether it exists, and whether a
    /// Hub model can be fetched, the worker finds out (a job then fails with the reason).
    /// </summary>
    public async Task<(ModelReference? Reference, string? Problem)> CheckAsync(string text, Guid team, CancellationToken cancellationToken)
    {
        var (reference, problem) = Parse(text);
        if (reference is null)
            return (null, problem);
        if (reference.Kind == ModelKind.Path && !System.IO.Path.IsPathFullyQualified(reference.Text))
            return (null, $"model folder '{reference.Text}' must be an absolute path on the workers' disks");
        if (reference.Kind == ModelKind.Stored)
        {
            var stored = StoredModel.TryParse(reference.Text, team)!;
            if (store is null)
                return (null, $"model '{reference.Text}' is in object storage, and no object storage is configured (VQA_S3_ENDPOINT)");
            // The same sentence for another team's model as for none: the reference, never the team's folder.
            if (await store.StatAsync($"{stored.Prefix}/{ModelResolver.ConfigFile}", cancellationToken) is null)
                return (null, $"model '{reference.Text}' is not in object storage: this team has no model {stored.Name} version {stored.Version}");
        }
        return (reference, null);
    }

    /// <summary>
    /// The model as a local folder: a stored version downloaded once into <see cref="ModelLocatorOptions.CacheDir"/>, a
    /// folder as it is (relative to this process), a bundled model from next to the program, a Hub model from the Hub
    /// cache (downloaded when the Hub settings allow). A Hub-like reference that is a local folder is that folder, as
    /// transformers' <c>from_pretrained</c> does.
    /// </summary>
    /// <param name="team">Whose stored models <c>models/{name}/{version}</c> names.</param>
    /// <exception cref="ModelLocationException">The reference names nothing that can be found here.</exception>
    public async Task<LocatedModel> ResolveAsync(string text, Guid team, CancellationToken cancellationToken)
    {
        var (reference, problem) = Parse(text);
        if (reference is null)
            throw new ModelLocationException(problem!);
        switch (reference.Kind)
        {
            case ModelKind.Stored:
                var stored = StoredModel.TryParse(reference.Text, team)!;
                if (store is null)
                    throw new ModelLocationException($"model '{reference.Text}' is in object storage, and no object storage is configured (VQA_S3_ENDPOINT)");
                try
                {
                    return new LocatedModel(reference, await store.DownloadModelAsync(stored, options.CacheDir, cancellationToken), stored.Reference);
                }
                catch (FileNotFoundException)
                {
                    throw new ModelLocationException($"model '{reference.Text}' is not in object storage");
                }
            case ModelKind.Bundled:
                var bundled = BundledModels.Find(reference.Text)!;
                // Named, not by path, so every host reports the same version for the same bundled weights.
                return new LocatedModel(reference, bundled, $"{reference.Text}#{await WeightsHashAsync(bundled, cancellationToken)}");
            case ModelKind.Path:
            case ModelKind.Hub when Directory.Exists(reference.Text):
                var folder = System.IO.Path.GetFullPath(reference.Text);
                if (!File.Exists(System.IO.Path.Combine(folder, ModelResolver.ConfigFile)))
                    throw new ModelLocationException(Directory.Exists(folder)
                        ? $"model folder '{reference.Text}' has no {ModelResolver.ConfigFile}"
                        : $"model folder '{reference.Text}' does not exist on this host");
                return new LocatedModel(reference with { Kind = ModelKind.Path }, folder, $"{folder}#{await WeightsHashAsync(folder, cancellationToken)}");
            default:
                var snapshot = await ModelResolver.ResolveAsync(reference.Text, hub ?? HubOptions.FromEnvironment(), cancellationToken);
                return new LocatedModel(reference, snapshot, $"{ModelId.Parse(reference.Text).RepoId}@{System.IO.Path.GetFileName(snapshot)}");
        }
    }

    private static async Task<string> WeightsHashAsync(string folder, CancellationToken cancellationToken)
    {
        var weights = ModelResolver.WeightFiles.Select(name => System.IO.Path.Combine(folder, name)).FirstOrDefault(File.Exists)
                      ?? System.IO.Path.Combine(folder, ModelResolver.ConfigFile);
        await using var file = File.OpenRead(weights);
        return "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken))[..16];
    }
}

/// <summary>A model reference names nothing that can be found where it is resolved.</summary>
public sealed class ModelLocationException(string message) : Ml.VqaPipelineException(message);
