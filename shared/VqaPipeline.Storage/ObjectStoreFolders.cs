using Minio.DataModel.Args;

namespace VqaPipeline.Storage;

/// <summary>Folders in object storage: a local directory tree stored under a key prefix, and back.</summary>
public static class ObjectStoreFolders
{
    /// <summary>
    /// Uploads every file under <paramref name="folder"/> to <c>{prefix}/{relative path}</c> (forward slashes) and
    /// returns the keys written. Files are streamed from disk, so a model's weights never sit whole in memory.
    /// <paramref name="include"/>, given a file's relative path (forward slashes), leaves out the files it refuses.
    /// </summary>
    public static async Task<IReadOnlyList<string>> UploadFolderAsync(
        this ObjectStore store, string folder, string prefix, Func<string, bool>? include = null,
        CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(folder);
        var keys = new List<string>();
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            if (include is not null && !include(relative))
                continue;
            var key = $"{prefix.TrimEnd('/')}/{relative}";
            await using var content = File.OpenRead(path);
            await store.Client.PutObjectAsync(
                new PutObjectArgs()
                    .WithBucket(store.Bucket)
                    .WithObject(key)
                    .WithStreamData(content)
                    .WithObjectSize(content.Length)
                    .WithContentType("application/octet-stream"),
                cancellationToken);
            keys.Add(key);
        }
        return keys;
    }

    /// <summary>
    /// Downloads every object under <paramref name="prefix"/> into <paramref name="folder"/>, keeping the key paths
    /// below the prefix. Returns how many files were written; 0 means nothing is stored under the prefix. A key that
    /// would land outside <paramref name="folder"/> (<c>..</c>) is refused.
    /// </summary>
    public static async Task<int> DownloadFolderAsync(
        this ObjectStore store, string prefix, string folder, CancellationToken cancellationToken = default)
    {
        var normalizedPrefix = prefix.TrimEnd('/') + "/";
        var root = Path.GetFullPath(folder);
        var count = 0;
        foreach (var stored in await store.ListAsync(normalizedPrefix, cancellationToken))
        {
            var target = Path.GetFullPath(Path.Combine(root, stored.Key[normalizedPrefix.Length..]));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new InvalidDataException($"object '{stored.Key}' would be written outside '{root}'");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var partial = target + ".partial";
            await using (var file = File.Create(partial))
            {
                await store.Client.GetObjectAsync(
                    new GetObjectArgs()
                        .WithBucket(store.Bucket)
                        .WithObject(stored.Key)
                        .WithCallbackStream((stream, token) => stream.CopyToAsync(file, token)),
                    cancellationToken);
            }
            File.Move(partial, target, overwrite: true);
            count++;
        }
        return count;
    }
}
