namespace VqaPipeline.Ml.Checkpoints.Hub;

/// <summary>Bytes received so far for one file being downloaded from the Hub.</summary>
/// <param name="File">The file's path inside the repository, e.g. <c>model.safetensors</c>.</param>
/// <param name="BytesDone">Bytes written so far.</param>
/// <param name="TotalBytes">The file's size when the server announced it.</param>
public sealed record HubDownloadProgress(string File, long BytesDone, long? TotalBytes);

/// <summary>
/// Where and how to reach the Hugging Face Hub, and where its local cache lives. The cache layout is the one Python's
/// <c>huggingface_hub</c> uses, so both share downloads.
/// </summary>
public sealed record HubOptions
{
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The Hub's base address (<c>HF_ENDPOINT</c>); files are fetched from <c>{Endpoint}/{repo}/resolve/{revision}/{file}</c>.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>Access token for private and gated repositories (<c>HF_TOKEN</c>), sent as a Bearer token.</summary>
    public string? Token { get; init; }

    /// <summary>Never touch the network; resolve from the cache only (<c>HF_HUB_OFFLINE</c>).</summary>
    public bool Offline { get; init; }

    /// <summary>The Hub cache folder holding <c>models--org--name</c> folders.</summary>
    public string CacheDir { get; init; } = DefaultCacheDir(Environment.GetEnvironmentVariable);

    /// <summary>How long to wait for the server's answer, and for each next piece of a download.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Told of the bytes received for each file as a download runs; showing it is the caller's job.</summary>
    public IProgress<HubDownloadProgress>? Progress { get; init; }

    /// <summary>
    /// Reads the variables Python's <c>huggingface_hub</c> reads: <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c> (else the token file
    /// <c>huggingface-cli login</c> writes), <c>HF_HUB_OFFLINE</c>, <c>HF_HUB_CACHE</c> / <c>HF_HOME</c>,
    /// <c>HF_HUB_DOWNLOAD_TIMEOUT</c>.
    /// </summary>
    public static HubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    internal static HubOptions FromEnvironment(Func<string, string?> variable)
    {
        var options = new HubOptions
        {
            Endpoint = (NonEmpty(variable("HF_ENDPOINT")) ?? DefaultEndpoint).TrimEnd('/'),
            Token = NonEmpty(variable("HF_TOKEN")) ?? ReadTokenFile(variable),
            Offline = IsTrue(variable("HF_HUB_OFFLINE")),
            CacheDir = DefaultCacheDir(variable),
        };
        var timeout = NonEmpty(variable("HF_HUB_DOWNLOAD_TIMEOUT"));
        return timeout is not null && double.TryParse(timeout, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? options with { Timeout = TimeSpan.FromSeconds(seconds) }
            : options;
    }

    private static string DefaultCacheDir(Func<string, string?> variable) =>
        ExpandHome(NonEmpty(variable("HF_HUB_CACHE"))
                   ?? NonEmpty(variable("HUGGINGFACE_HUB_CACHE"))
                   ?? Path.Combine(HfHome(variable), "hub"));

    private static string HfHome(Func<string, string?> variable) =>
        ExpandHome(NonEmpty(variable("HF_HOME"))
                   ?? Path.Combine(NonEmpty(variable("XDG_CACHE_HOME")) ?? Path.Combine("~", ".cache"), "huggingface"));

    private static string? ReadTokenFile(Func<string, string?> variable)
    {
        var path = ExpandHome(NonEmpty(variable("HF_TOKEN_PATH")) ?? Path.Combine(HfHome(variable), "token"));
        try
        {
            return File.Exists(path) ? NonEmpty(File.ReadAllText(path).Trim()) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsTrue(string? value) =>
        value?.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "")
            : path;
}
