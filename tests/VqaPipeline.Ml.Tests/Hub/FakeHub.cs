using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace VqaPipeline.Ml.Tests.Hub;

/// <summary>One commit of a fake repository: its hash and its files (path → bytes).</summary>
internal sealed record FakeCommit(string Hash, IReadOnlyDictionary<string, byte[]> Files);

/// <summary>A fake repository: its commits, its branches (name → commit hash), and whether it needs the token.</summary>
internal sealed record FakeRepo(IReadOnlyList<FakeCommit> Commits, IReadOnlyDictionary<string, string> Branches,
    bool IsPrivate = false);

internal sealed record RecordedRequest(string Method, string Path, string? Authorization);

/// <summary>
/// A real HTTP server on 127.0.0.1 that answers like huggingface.co's <c>/{repo}/resolve/{revision}/{file}</c>:
/// <c>X-Repo-Commit</c>, git-sha1 <c>ETag</c>s for small files, and for "LFS" files (.safetensors, .bin) a 302 to
/// <c>/lfs/&lt;sha256&gt;</c> carrying <c>X-Linked-Etag</c> / <c>X-Linked-Size</c>; <c>X-Error-Code</c> on 404s and 401s.
/// Switches simulate a dropped connection and a server that stalls.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    public const string Token = "hf_fake_token_for_tests";

    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, FakeRepo> _repos = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _renamed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _lfsObjects = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly Task _serving;
    private readonly ConcurrentDictionary<string, int> _dropsLeft = new(StringComparer.Ordinal);

    public FakeHub()
    {
        var port = FreePort();
        Endpoint = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Endpoint + "/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public string Endpoint { get; }

    /// <summary>How long every response is held back (to make the client time out).</summary>
    public TimeSpan Stall { get; set; }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public int GetCount => _requests.Count(r => r.Method == "GET");

    /// <summary>The next download of this blob sends half its bytes, then cuts the connection.</summary>
    public void DropNextDownloadOf(string blobName) => _dropsLeft[blobName] = 1;

    public void AddRepo(string repoId, FakeRepo repo)
    {
        _repos[repoId] = repo;
        foreach (var content in repo.Commits.SelectMany(c => c.Files).Where(f => IsLfs(f.Key)).Select(f => f.Value))
            _lfsObjects[Sha256(content)] = content;
    }

    /// <summary>Requests for <paramref name="oldId"/> are redirected (relative Location) to <paramref name="newId"/>.</summary>
    public void Rename(string oldId, string newId) => _renamed[oldId] = newId;

    public static bool IsLfs(string file) => file.EndsWith(".safetensors", StringComparison.Ordinal)
                                            || file.EndsWith(".bin", StringComparison.Ordinal);

    /// <summary>The name Python's cache gives the blob: sha256 for LFS files, the git blob sha1 otherwise.</summary>
    public static string BlobName(string file, byte[] content) => IsLfs(file) ? Sha256(content) : GitBlobSha1(content);

    /// <summary>An address on 127.0.0.1 where nothing listens: connections are refused.</summary>
    public static string UnreachableEndpoint() => $"http://127.0.0.1:{FreePort()}";

    public static string CommitHash(string seed) =>
        Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(seed)));

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            var path = request.Url!.AbsolutePath;
            _requests.Enqueue(new RecordedRequest(request.HttpMethod, path, request.Headers["Authorization"]));
            if (Stall > TimeSpan.Zero)
                await Task.Delay(Stall);
            var segments = path.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
            if (segments is ["lfs", var sha] && _lfsObjects.TryGetValue(sha, out var lfsContent))
                await SendContentAsync(context, lfsContent, sha, etag: $"\"cdn-{sha[..16]}\"", commit: null);
            else if (Array.IndexOf(segments, "resolve") is var at and (1 or 2) && segments.Length > at + 2)
                await ResolveAsync(context, string.Join('/', segments[..at]), segments[at + 1],
                    string.Join('/', segments[(at + 2)..]));
            else
                SendError(response, 404, null);
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away (timeout tests) or the server is shutting down.
        }
    }

    private async Task ResolveAsync(HttpListenerContext context, string repoId, string revision, string file)
    {
        var response = context.Response;
        if (_renamed.TryGetValue(repoId, out var newId))
        {
            var newPath = context.Request.Url!.AbsolutePath.Replace($"/{repoId}/", $"/{newId}/", StringComparison.Ordinal);
            Redirect(response, 307, newPath);
            return;
        }
        if (!_repos.TryGetValue(repoId, out var repo))
        {
            SendError(response, 404, "RepoNotFound");
            return;
        }
        if (repo.IsPrivate && context.Request.Headers["Authorization"] != $"Bearer {Token}")
        {
            // huggingface.co answers like this for private repos and for repos that do not exist alike.
            SendError(response, 401, "RepoNotFound");
            return;
        }
        var hash = repo.Branches.TryGetValue(revision, out var branchHead) ? branchHead : revision;
        var commit = repo.Commits.FirstOrDefault(c => c.Hash == hash);
        if (commit is null)
        {
            SendError(response, 404, "RevisionNotFound");
            return;
        }
        response.AddHeader("X-Repo-Commit", commit.Hash);
        if (!commit.Files.TryGetValue(file, out var content))
        {
            SendError(response, 404, "EntryNotFound");
            return;
        }
        if (!IsLfs(file))
        {
            // Small files carry their git blob sha1 as ETag; JSON ones as a weak ETag, which the client must unwrap.
            var sha1 = GitBlobSha1(content);
            var etag = $"\"{sha1}\"";
            await SendContentAsync(context, content, sha1, file.EndsWith(".json", StringComparison.Ordinal) ? "W/" + etag : etag,
                commit.Hash);
            return;
        }
        var sha = Sha256(content);
        response.AddHeader("X-Linked-Etag", $"\"{sha}\"");
        response.AddHeader("X-Linked-Size", content.Length.ToString());
        response.AddHeader("ETag", $"\"{GitBlobSha1(Encoding.UTF8.GetBytes($"version lfs\noid sha256:{sha}\n"))}\"");
        // The real Hub redirects to its CDN with an absolute address; a relative one must work as well.
        Redirect(response, 302, file.EndsWith(".safetensors", StringComparison.Ordinal) ? $"{Endpoint}/lfs/{sha}" : $"/lfs/{sha}");
    }

    private async Task SendContentAsync(HttpListenerContext context, byte[] content, string blobName, string etag,
        string? commit)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/octet-stream";
        response.AddHeader("ETag", etag);
        if (commit is not null)
            response.Headers["X-Repo-Commit"] = commit;
        response.ContentLength64 = content.Length;
        if (context.Request.HttpMethod == "HEAD")
        {
            response.Close();
            return;
        }
        if (_dropsLeft.TryRemove(blobName, out _))
        {
            await response.OutputStream.WriteAsync(content.AsMemory(0, content.Length / 2));
            await response.OutputStream.FlushAsync();
            await Task.Delay(50);
            response.Abort();
            return;
        }
        await response.OutputStream.WriteAsync(content);
        response.Close();
    }

    private static void Redirect(HttpListenerResponse response, int status, string location)
    {
        response.StatusCode = status;
        response.AddHeader("Location", location);
        response.ContentLength64 = 0;
        response.Close();
    }

    private static void SendError(HttpListenerResponse response, int status, string? errorCode)
    {
        response.StatusCode = status;
        if (errorCode is not null)
            response.AddHeader("X-Error-Code", errorCode);
        response.ContentLength64 = 0;
        response.Close();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    private static string GitBlobSha1(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));
}
