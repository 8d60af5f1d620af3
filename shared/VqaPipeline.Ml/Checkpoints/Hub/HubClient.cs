using System.Net;
using System.Net.Http.Headers;

namespace VqaPipeline.Ml.Checkpoints.Hub;

/// <summary>
/// Downloads files of Hub model repositories into the cache Python's <c>huggingface_hub</c> uses, and finds them there
/// again without the network: offline, when the Hub cannot be reached, or when the revision is a cached commit.
/// </summary>
public sealed class HubClient : IDisposable
{
    private const int MaxRedirects = 10;
    private const int ChunkSize = 1 << 20;

    private readonly HubOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _endpoint;

    /// <param name="options">Endpoint, token, cache folder, offline mode, timeout and progress.</param>
    /// <param name="httpClient">
    /// A client to share; it must not follow redirects itself (<c>AllowAutoRedirect = false</c>), because the Hub's
    /// redirects carry the file's metadata. When omitted, the client makes and disposes its own.
    /// </param>
    public HubClient(HubOptions options, HttpClient? httpClient = null)
    {
        _options = options;
        if (!Uri.TryCreate(options.Endpoint.TrimEnd('/') + "/", UriKind.Absolute, out var endpoint)
            || endpoint.Scheme is not ("http" or "https"))
            throw new HubException(HubErrorReason.DownloadFailed,
                $"Hub endpoint '{options.Endpoint}' is not an http(s) address: fix HF_ENDPOINT");
        _endpoint = endpoint;
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout,
        })
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Downloads one file (or finds it in the cache) and returns its path inside <c>snapshots/&lt;commit&gt;/</c>.</summary>
    /// <exception cref="HubException">The repository, revision or file does not exist, needs a token, or the download failed.</exception>
    public async Task<string> DownloadFileAsync(ModelId model, string file, CancellationToken cancellationToken = default)
    {
        var fetched = await FetchAsync(model, file, pinnedCommit: null, cancellationToken).ConfigureAwait(false);
        return fetched.Unavailable is { } error ? throw error : fetched.Path ?? throw MissingFile(model, file);
    }

    /// <summary>
    /// Brings the required files and whichever optional files the repository has into one snapshot and returns its folder,
    /// <c>models--org--name/snapshots/&lt;commit&gt;</c>. The first required file fixes the commit; the rest are taken at
    /// that commit, so the snapshot is consistent even if the branch moves meanwhile.
    /// </summary>
    /// <exception cref="HubException">A required file is missing or could not be fetched.</exception>
    public async Task<string> SnapshotAsync(ModelId model, IReadOnlyList<string> requiredFiles,
        IReadOnlyList<string> optionalFiles, CancellationToken cancellationToken = default)
    {
        if (requiredFiles.Count == 0)
            throw new ArgumentException("At least one required file fixes the snapshot's commit.", nameof(requiredFiles));
        string? commit = null;
        foreach (var file in requiredFiles)
        {
            var fetched = await FetchAsync(model, file, commit, cancellationToken).ConfigureAwait(false);
            if (fetched.Unavailable is { } error)
                throw error;
            commit ??= fetched.Commit;
            if (fetched.Path is null)
                throw MissingFile(model, file);
        }
        foreach (var file in optionalFiles)
            await FetchAsync(model, file, commit, cancellationToken).ConfigureAwait(false);
        return new HubCache(_options.CacheDir, model).SnapshotFolder(commit!);
    }

    public void Dispose()
    {
        if (_ownsHttp)
            _http.Dispose();
    }

    /// <summary>
    /// Finds or downloads one file. <paramref name="pinnedCommit"/> overrides the model's revision once a snapshot's
    /// commit is known. A file the Hub says it lacks comes back with no path; a file that is neither reachable nor cached
    /// comes back with <see cref="FetchResult.Unavailable"/> set, so callers decide whether it matters.
    /// </summary>
    internal async Task<FetchResult> FetchAsync(ModelId model, string file, string? pinnedCommit,
        CancellationToken cancellationToken)
    {
        CheckRepositoryPath(file);
        var cache = new HubCache(_options.CacheDir, model);
        var revision = pinnedCommit ?? model.Revision;
        var cached = cache.Find(revision, file);
        // A commit never changes, so what the cache knows about it is final: no request needed.
        if (ModelId.IsCommitHash(revision) && cached.State != CachedState.Unknown)
            return FetchResult.From(cached);
        if (_options.Offline)
            return FetchResult.From(cached, OfflineMiss(model, file));

        RemoteFile? remote;
        string? commit;
        try
        {
            (remote, commit) = await HeadAsync(model, revision, file, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException error)
        {
            // Like huggingface_hub: an unreachable Hub, a refused token or a server error still lets the cache answer.
            return FetchResult.From(cached, error);
        }

        if (commit is not null)
            cache.RecordRef(revision, commit);
        if (remote is null)
        {
            if (commit is not null)
                cache.RecordMissing(commit, file);
            return new FetchResult(commit, null, null);
        }

        var pointer = cache.PointerPath(remote.Commit, file);
        if (HubCache.IsReadableFile(pointer))
            return new FetchResult(remote.Commit, pointer, null);
        var blob = cache.BlobPath(remote.Etag);
        if (!HubCache.IsReadableFile(blob))
            await DownloadBlobAsync(remote, file, blob, cache.LockPath(remote.Etag), cancellationToken).ConfigureAwait(false);
        cache.Link(blob, pointer);
        return new FetchResult(remote.Commit, pointer, null);
    }

    /// <summary>
    /// Asks the Hub for a file's commit, etag, size and download address without following the redirect to its
    /// content: the Hub puts the metadata on the redirect itself. Redirects without metadata (a renamed repository)
    /// are followed. Returns no file, with the commit when known, when the repository lacks the file.
    /// </summary>
    private async Task<(RemoteFile? File, string? Commit)> HeadAsync(ModelId model, string revision, string file,
        CancellationToken cancellationToken)
    {
        var uri = ResolveUri(model, revision, file);
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            using var response = await SendAsync(HttpMethod.Head, uri, file, cancellationToken).ConfigureAwait(false);
            var commit = Header(response, "X-Repo-Commit") is { } sent ? CheckPathSegment(sent, "X-Repo-Commit") : null;
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
            {
                var location = RedirectTarget(response, uri, file);
                if (commit is null)
                {
                    uri = location;
                    continue;
                }
                return (DescribeFile(response, commit, location, file), commit);
            }
            if (response.IsSuccessStatusCode)
                return (DescribeFile(response, commit, uri, file), commit);
            var errorCode = Header(response, "X-Error-Code");
            if (response.StatusCode == HttpStatusCode.NotFound
                && (errorCode == "EntryNotFound" || (errorCode is null && commit is not null)))
                return (null, commit);
            throw ErrorFor(response, model, file);
        }
        throw new HubException(HubErrorReason.DownloadFailed,
            $"download of {file} failed: more than {MaxRedirects} redirects from {_endpoint.Authority}");
    }

    private RemoteFile DescribeFile(HttpResponseMessage response, string? commit, Uri location, string file)
    {
        if (commit is null)
            throw new HubException(HubErrorReason.DownloadFailed,
                $"download of {file} failed: {location.Authority} sent no X-Repo-Commit header; is {_endpoint} a Hugging Face Hub?");
        var etag = NormalizeEtag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag"))
                   ?? throw new HubException(HubErrorReason.DownloadFailed,
                       $"download of {file} failed: {location.Authority} sent no ETag, so the file cannot be cached");
        var size = long.TryParse(Header(response, "X-Linked-Size"), out var linked) ? linked
            : response.Content.Headers.ContentLength;
        return new RemoteFile(commit, CheckPathSegment(etag, "ETag"), size, location);
    }

    /// <summary>
    /// Streams the content into <c>blobs/&lt;etag&gt;.incomplete</c> and renames it only once every byte arrived, so a
    /// broken download never leaves a blob that looks complete. Holds Python's lock file for the blob meanwhile.
    /// </summary>
    private async Task DownloadBlobAsync(RemoteFile remote, string file, string blob, string lockPath,
        CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        using var blobLock = await AcquireLockAsync(lockPath, cancellationToken).ConfigureAwait(false);
        if (HubCache.IsReadableFile(blob))
            return;
        var partial = blob + ".incomplete";
        try
        {
            await using (var output = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None))
                await CopyContentAsync(remote, file, output, cancellationToken).ConfigureAwait(false);
            File.Move(partial, blob, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    private async Task CopyContentAsync(RemoteFile remote, string file, Stream output, CancellationToken cancellationToken)
    {
        var uri = remote.DownloadUri;
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            using var response = await SendAsync(HttpMethod.Get, uri, file, cancellationToken).ConfigureAwait(false);
            if ((int)response.StatusCode is >= 300 and < 400)
            {
                uri = RedirectTarget(response, uri, file);
                continue;
            }
            if (!response.IsSuccessStatusCode)
                throw new HubException(HubErrorReason.DownloadFailed,
                    $"download of {file} failed: {uri.Authority} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            var announced = response.Content.Headers.ContentLength;
            var expected = remote.Size ?? announced;
            var received = await ReadBodyAsync(response, file, expected, output, cancellationToken).ConfigureAwait(false);
            if ((expected is { } size && received != size) || (announced is { } length && received != length))
                throw new HubException(HubErrorReason.DownloadFailed,
                    $"download of {file} failed: received {received} bytes, expected {expected ?? announced}; try again");
            return;
        }
        throw new HubException(HubErrorReason.DownloadFailed,
            $"download of {file} failed: more than {MaxRedirects} redirects from {remote.DownloadUri.Authority}");
    }

    private async Task<long> ReadBodyAsync(HttpResponseMessage response, string file, long? expected, Stream output,
        CancellationToken cancellationToken)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var buffer = new byte[ChunkSize];
        long received = 0;
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            int count;
            try
            {
                stall.CancelAfter(_options.Timeout);
                count = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new HubException(HubErrorReason.Timeout,
                    $"download of {file} failed: no data from {response.RequestMessage?.RequestUri?.Authority} for {Seconds(_options.Timeout)} after {received} bytes; try again or raise HF_HUB_DOWNLOAD_TIMEOUT");
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                throw new HubException(HubErrorReason.DownloadFailed,
                    $"download of {file} failed: the connection broke off after {received} of {expected?.ToString() ?? "?"} bytes ({e.Message}); try again", e);
            }
            if (count == 0)
                return received;
            await output.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
            received += count;
            _options.Progress?.Report(new HubDownloadProgress(file, received, expected));
        }
    }

    /// <summary>Sends one request, waiting at most <see cref="HubOptions.Timeout"/> for the response headers.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, string file, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri);
        // Identity: sizes must describe the bytes on disk, not a compressed transfer.
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("VqaPipeline", "1.0"));
        // The token goes to the Hub's own host only, never to another host a redirect points at (its file storage).
        if (_options.Token is { } token && IsSameOrigin(uri, _endpoint))
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HubException(HubErrorReason.Timeout,
                $"download of {file} failed: no answer from {uri.Authority} within {Seconds(_options.Timeout)}; check the network or raise HF_HUB_DOWNLOAD_TIMEOUT");
        }
        catch (HttpRequestException e)
        {
            throw new HubException(HubErrorReason.DownloadFailed,
                $"download of {file} failed: cannot reach {uri.Authority} ({e.Message}); check the network, or set HF_HUB_OFFLINE=1 to use the cache", e);
        }
    }

    private HubException ErrorFor(HttpResponseMessage response, ModelId model, string file)
    {
        var errorCode = Header(response, "X-Error-Code");
        var status = (int)response.StatusCode;
        var where = _endpoint.ToString().TrimEnd('/');
        if (errorCode == "GatedRepo")
            return new HubException(HubErrorReason.AuthenticationRequired,
                $"model '{model.RepoId}' at {where} is gated: accept its conditions on the model page, then set HF_TOKEN to a token of that account");
        if (errorCode == "RevisionNotFound")
            return new HubException(HubErrorReason.RevisionNotFound,
                $"model '{model.RepoId}' has no revision '{model.Revision}' at {where}");
        if (status is 401 or 403)
            return new HubException(HubErrorReason.AuthenticationRequired, _options.Token is null
                ? $"model '{model.RepoId}' at {where} needs authentication (it is private or gated, or does not exist): set HF_TOKEN"
                : $"model '{model.RepoId}' at {where} refused the token in HF_TOKEN (HTTP {status}): check it has access, and that the model exists");
        if (errorCode == "RepoNotFound" || status == 404)
            return new HubException(HubErrorReason.RepositoryNotFound,
                $"model '{model.RepoId}' not found at {where} (revision {model.Revision})");
        return new HubException(HubErrorReason.DownloadFailed,
            $"download of {file} failed: {where} answered HTTP {status} {response.ReasonPhrase}");
    }

    private HubException OfflineMiss(ModelId model, string file) =>
        new(HubErrorReason.NotInCache,
            $"model '{model.RepoId}' (revision {model.Revision}) has no {file} in the Hub cache {_options.CacheDir}, and offline mode is on (HF_HUB_OFFLINE): download it once online");

    internal static HubException MissingFile(ModelId model, string file) =>
        new(HubErrorReason.FileNotFound, $"model '{model.RepoId}' has no {file} at revision {model.Revision}");

    private Uri ResolveUri(ModelId model, string revision, string file)
    {
        var path = string.Join('/', file.Split('/').Select(Uri.EscapeDataString));
        return new Uri(_endpoint, $"{model.RepoId}/resolve/{Uri.EscapeDataString(revision)}/{path}");
    }

    private static Uri RedirectTarget(HttpResponseMessage response, Uri from, string file)
    {
        var location = response.Headers.Location
                       ?? throw new HubException(HubErrorReason.DownloadFailed,
                           $"download of {file} failed: {from.Authority} redirected without a Location");
        return location.IsAbsoluteUri ? location : new Uri(from, location);
    }

    private static async Task<IDisposable> AcquireLockAsync(string lockPath, CancellationToken cancellationToken)
    {
        // FileShare.None takes an flock on Unix, the same lock Python's filelock takes: whoever comes second waits.
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Etags arrive as <c>"abc"</c> or <c>W/"abc"</c>; the blob is named by the bare value.</summary>
    internal static string? NormalizeEtag(string? etag)
    {
        if (string.IsNullOrWhiteSpace(etag))
            return null;
        var value = etag.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
            value = value[2..];
        return value.Trim('"') is { Length: > 0 } bare ? bare : null;
    }

    /// <summary>Server-sent names become folder and file names, so they must not reach outside the cache.</summary>
    private static string CheckPathSegment(string value, string header) =>
        value.Length > 0 && value.Length <= 255 && value != "." && value != ".." && value.IndexOfAny(['/', '\\', '\0']) < 0
            ? value
            : throw new HubException(HubErrorReason.DownloadFailed,
                $"the Hub sent an unusable {header} value '{value}'; it cannot name a file in the cache");

    internal static void CheckRepositoryPath(string file)
    {
        if (file.Length == 0 || file.Contains('\\') || file.Contains('\0')
            || file.Split('/').Any(segment => segment is "" or "." or ".."))
            throw new ArgumentException($"'{file}' is not a file path inside a repository.", nameof(file));
    }

    private static bool IsSameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    private static string Seconds(TimeSpan timeout) => $"{timeout.TotalSeconds:0.###} s";

    private sealed record RemoteFile(string Commit, string Etag, long? Size, Uri DownloadUri);
}

/// <summary>One file's outcome: its cached path, or no path when the Hub lacks it, or why it is unavailable.</summary>
internal readonly record struct FetchResult(string? Commit, string? Path, HubException? Unavailable)
{
    public static FetchResult From(CacheLookup cached, HubException? whenUnknown = null) => cached.State switch
    {
        CachedState.Present => new FetchResult(cached.Commit, cached.Path, null),
        CachedState.KnownMissing => new FetchResult(cached.Commit, null, null),
        _ => new FetchResult(cached.Commit, null, whenUnknown),
    };
}
