namespace VqaPipeline.Storage;

/// <summary>
/// A model folder kept in object storage — what a question job or a training run names as
/// <c>models/{name}/{version}</c>, and what the training service writes. Stored models belong to a team: the name is
/// resolved within the caller's team, so two teams' <c>shapes/1</c> are two models. A team's folder is
/// <c>models/{team}/{name}/{version}/</c>; the team <see cref="Guid.Empty"/> (data stored before teams, owned by the
/// team created with <c>--adopt-existing</c>) keeps the folder it always had, <c>models/{name}/{version}/</c>.
/// </summary>
/// <param name="Team">The owning team; <see cref="Guid.Empty"/> for models stored before teams.</param>
public sealed record StoredModel(string Name, string Version, Guid Team = default)
{
    /// <summary>The key prefix of the folder's files, without a trailing slash.</summary>
    public string Prefix => Team == Guid.Empty ? Reference : $"models/{Team:D}/{Name}/{Version}";

    /// <summary>How a job names this model (the same for every team): <c>models/{name}/{version}</c>.</summary>
    public string Reference => $"models/{Name}/{Version}";

    /// <summary>The reference to model <paramref name="name"/>'s version <paramref name="version"/> of <paramref name="team"/>.</summary>
    public static StoredModel Of(string name, int version, Guid team = default) =>
        new(name, version.ToString(System.Globalization.CultureInfo.InvariantCulture), team);

    /// <summary>
    /// <paramref name="reference"/> as a stored model of <paramref name="team"/> when it has the form
    /// <c>models/{name}/{version}</c> (slashes at either end allowed; no empty, <c>.</c> or <c>..</c> segment), else null.
    /// A team's folder is never named directly: <c>models/{team}/{name}/{version}</c> is no stored model reference.
    /// </summary>
    public static StoredModel? TryParse(string reference, Guid team = default) =>
        reference.Trim('/').Split('/') is ["models", var name, var version] && Usable(name) && Usable(version)
            ? new StoredModel(name, version, team)
            : null;

    private static bool Usable(string segment) => segment.Length > 0 && segment is not ("." or "..");
}

/// <summary>Stored models brought onto local disk.</summary>
public static class StoredModelDownloads
{
    /// <summary>
    /// The local folder of <paramref name="model"/> under <paramref name="cacheFolder"/>
    /// (<c>{cacheFolder}/models/{name}/{version}</c>), downloaded once: the files go into a partial folder that is
    /// moved into place when complete, so a folder that exists is whole, and processes downloading the same model at
    /// once both end with it.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is stored under the model's prefix.</exception>
    public static async Task<string> DownloadModelAsync(
        this ObjectStore store, StoredModel model, string cacheFolder, CancellationToken cancellationToken = default)
    {
        var target = Path.GetFullPath(Path.Combine(cacheFolder, model.Prefix));
        if (Directory.Exists(target))
            return target;
        var partial = $"{target}.partial-{Guid.NewGuid():N}";
        try
        {
            if (await store.DownloadFolderAsync(model.Prefix, partial, cancellationToken) == 0)
                throw new FileNotFoundException(
                    $"model '{model.Prefix}' has no files under {model.Prefix}/ in bucket {store.Bucket}", model.Prefix);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            Directory.Move(partial, target);
        }
        catch (IOException) when (Directory.Exists(target))
        {
            // Another process finished the same download first.
        }
        finally
        {
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        }
        return target;
    }
}
