namespace VqaPipeline.Ml.Checkpoints.Hub;

/// <summary>What the cache knows about one file at one revision.</summary>
internal enum CachedState { Unknown, Present, KnownMissing }

internal readonly record struct CacheLookup(CachedState State, string? Commit, string? Path);

/// <summary>
/// One repository's folder in the Hub cache, laid out exactly as Python's <c>huggingface_hub</c> lays it out:
/// <c>blobs/&lt;etag&gt;</c> holds content, <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> links to a blob,
/// <c>refs/&lt;revision&gt;</c> holds a commit hash, <c>.no_exist/&lt;commit&gt;/&lt;file&gt;</c> records files the Hub lacks.
/// </summary>
internal sealed class HubCache
{
    private readonly string _cacheDir;
    private readonly string _repoFolderName;

    public HubCache(string cacheDir, ModelId model)
    {
        _cacheDir = cacheDir;
        _repoFolderName = model.CacheFolderName;
        RepoFolder = Path.Combine(cacheDir, _repoFolderName);
    }

    public string RepoFolder { get; }

    public string SnapshotFolder(string commit) => Path.Combine(RepoFolder, "snapshots", commit);

    public string PointerPath(string commit, string file) => Path.Combine(SnapshotFolder(commit), LocalPath(file));

    public string BlobPath(string etag) => Path.Combine(RepoFolder, "blobs", etag);

    /// <summary>Python's lock for the same blob, so the two never download it at once (both use <c>flock</c>).</summary>
    public string LockPath(string etag) => Path.Combine(_cacheDir, ".locks", _repoFolderName, etag + ".lock");

    /// <summary>The commit a revision stands for: itself when it is a commit hash, else what <c>refs/</c> recorded.</summary>
    public string? CommitOf(string revision)
    {
        if (ModelId.IsCommitHash(revision))
            return revision;
        var refPath = Path.Combine(RepoFolder, "refs", LocalPath(revision));
        return File.Exists(refPath) ? File.ReadAllText(refPath).Trim() : null;
    }

    public CacheLookup Find(string revision, string file)
    {
        var commit = CommitOf(revision);
        if (commit is null)
            return new CacheLookup(CachedState.Unknown, null, null);
        var pointer = PointerPath(commit, file);
        if (IsReadableFile(pointer))
            return new CacheLookup(CachedState.Present, commit, pointer);
        return File.Exists(NoExistPath(commit, file))
            ? new CacheLookup(CachedState.KnownMissing, commit, null)
            : new CacheLookup(CachedState.Unknown, commit, null);
    }

    public void RecordRef(string revision, string commit)
    {
        if (revision == commit)
            return;
        var refPath = Path.Combine(RepoFolder, "refs", LocalPath(revision));
        // Rewrite only on change: a shared read-only cache that is already up to date must keep working.
        if (File.Exists(refPath) && File.ReadAllText(refPath) == commit)
            return;
        Directory.CreateDirectory(Path.GetDirectoryName(refPath)!);
        File.WriteAllText(refPath, commit);
    }

    public void RecordMissing(string commit, string file)
    {
        var path = NoExistPath(commit, file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, []);
    }

    /// <summary>
    /// Points <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> at a blob with a relative symlink (the cache survives being
    /// moved), or places a copy where the file system refuses symlinks.
    /// </summary>
    public void Link(string blobPath, string pointerPath)
    {
        var folder = Path.GetDirectoryName(pointerPath)!;
        Directory.CreateDirectory(folder);
        // Made aside, then renamed over the pointer: a reader, or a second download of the same file, sees the old
        // pointer or the new one, never a missing or half-copied one.
        var staging = $"{pointerPath}.{Guid.NewGuid():N}.incomplete";
        try
        {
            try
            {
                File.CreateSymbolicLink(staging, Path.GetRelativePath(folder, blobPath));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                File.Copy(blobPath, staging);
            }
            File.Move(staging, pointerPath, overwrite: true);
        }
        finally
        {
            File.Delete(staging);
        }
    }

    /// <summary>Whether the path is a file, or a symlink whose target exists (a dangling link is not a cached file).</summary>
    public static bool IsReadableFile(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null)
            return info.Exists;
        return info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true };
    }

    private string NoExistPath(string commit, string file) => Path.Combine(RepoFolder, ".no_exist", commit, LocalPath(file));

    private static string LocalPath(string repoPath) => Path.Combine(repoPath.Split('/'));
}
