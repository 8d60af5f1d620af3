using System.Text;
using VqaPipeline.Ml.Checkpoints.Hub;

namespace VqaPipeline.Ml.Tests.Hub;

/// <summary>
/// <see cref="ModelResolver"/> and <see cref="HubClient"/> against a real HTTP server that answers like the Hub and
/// serves the vilt-tiny fixture; every test has its own server and its own cache folder.
/// </summary>
public sealed class HubDownloadTests : IDisposable
{
    private const string Repo = "test-org/vilt-tiny";
    private const string PrivateRepo = "test-org/private-vilt";
    private const string ShardedRepo = "test-org/vilt-sharded";
    private const string ConfigOnlyRepo = "test-org/config-only";
    private const string WeightsOnlyRepo = "test-org/weights-only";

    private static readonly string MainCommit = FakeHub.CommitHash("vilt-tiny main");
    private static readonly string OldCommit = FakeHub.CommitHash("vilt-tiny old");

    private readonly FakeHub _hub = new();
    private readonly string _cacheDir = Path.Combine(Path.GetTempPath(), "vqa-hub-tests-" + Guid.NewGuid().ToString("N"));
    private readonly IReadOnlyDictionary<string, byte[]> _fixture = FixtureFiles();

    public HubDownloadTests()
    {
        var withoutSafetensors = _fixture.Where(f => f.Key != ModelResolver.SafetensorsFile).ToDictionary();
        _hub.AddRepo(Repo, new FakeRepo(
            [new FakeCommit(OldCommit, withoutSafetensors), new FakeCommit(MainCommit, _fixture)],
            new Dictionary<string, string> { ["main"] = MainCommit }));
        _hub.AddRepo(PrivateRepo, SingleCommitRepo(_fixture, isPrivate: true));
        _hub.AddRepo(ShardedRepo, SingleCommitRepo(ShardedFiles(_fixture)));
        _hub.AddRepo(ConfigOnlyRepo, SingleCommitRepo(_fixture.Where(f => f.Key == ModelResolver.ConfigFile).ToDictionary()));
        _hub.AddRepo(WeightsOnlyRepo, SingleCommitRepo(_fixture.Where(f => f.Key != ModelResolver.ConfigFile).ToDictionary()));
        _hub.Rename("old-org/vilt-tiny", Repo);
    }

    public void Dispose()
    {
        _hub.Dispose();
        if (Directory.Exists(_cacheDir))
            Directory.Delete(_cacheDir, recursive: true);
    }

    [Fact]
    public async Task First_download_is_byte_equal_to_the_fixtures_in_pythons_cache_layout()
    {
        var folder = await ModelResolver.ResolveAsync(Repo, Options());

        var repoFolder = Path.Combine(_cacheDir, "models--test-org--vilt-tiny");
        Assert.Equal(Path.Combine(repoFolder, "snapshots", MainCommit), folder);
        Assert.Equal(MainCommit, File.ReadAllText(Path.Combine(repoFolder, "refs", "main")));
        // safetensors is preferred, so the .bin copy of the same weights is never fetched.
        var expected = _fixture.Where(f => f.Key != ModelResolver.PytorchFile).ToDictionary();
        Assert.Equal(expected.Keys.Order(), Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Order());
        foreach (var (name, bytes) in expected)
        {
            var pointer = Path.Combine(folder, name);
            Assert.Equal($"../../blobs/{FakeHub.BlobName(name, bytes)}", new FileInfo(pointer).LinkTarget);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(pointer));
        }
        Assert.Equal(expected.Select(f => FakeHub.BlobName(f.Key, f.Value)).Order(),
            Directory.GetFiles(Path.Combine(repoFolder, "blobs")).Select(Path.GetFileName).Order());
        foreach (var absent in ModelResolver.OptionalFiles.Where(f => !_fixture.ContainsKey(f)))
            Assert.True(File.Exists(Path.Combine(repoFolder, ".no_exist", MainCommit, absent)), absent);
        Assert.DoesNotContain(_hub.Requests, r => r.Path.EndsWith(ModelResolver.PytorchFile, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Second_resolve_is_a_cache_hit_with_no_download()
    {
        var first = await ModelResolver.ResolveAsync(Repo, Options());
        var requestsBefore = _hub.Requests.Count;

        var second = await ModelResolver.ResolveAsync(Repo, Options());

        Assert.Equal(first, second);
        var newRequests = _hub.Requests.Skip(requestsBefore).ToList();
        // One HEAD finds where "main" points now; the commit is cached, so nothing else is asked.
        var head = Assert.Single(newRequests);
        Assert.Equal("HEAD", head.Method);
        Assert.Equal($"/{Repo}/resolve/main/{ModelResolver.ConfigFile}", head.Path);
    }

    [Fact]
    public async Task Offline_mode_resolves_from_the_cache_without_any_request()
    {
        var online = await ModelResolver.ResolveAsync(Repo, Options());
        var requestsBefore = _hub.Requests.Count;

        var offline = await ModelResolver.ResolveAsync(Repo, Options() with { Offline = true });

        Assert.Equal(online, offline);
        Assert.Equal(requestsBefore, _hub.Requests.Count);
    }

    [Fact]
    public async Task Offline_mode_without_the_model_in_the_cache_fails_naming_offline_mode()
    {
        var error = await Assert.ThrowsAsync<HubException>(
            () => ModelResolver.ResolveAsync(Repo, Options() with { Offline = true }));

        Assert.Equal(HubErrorReason.NotInCache, error.Reason);
        Assert.Contains($"'{Repo}'", error.Message);
        Assert.Contains("offline mode is on (HF_HUB_OFFLINE)", error.Message);
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task Unreachable_hub_falls_back_to_the_cache_and_fails_clearly_without_it()
    {
        var unreachable = Options() with { Endpoint = FakeHub.UnreachableEndpoint() };

        var error = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(Repo, unreachable));
        Assert.Equal(HubErrorReason.DownloadFailed, error.Reason);
        Assert.StartsWith($"download of {ModelResolver.ConfigFile} failed: cannot reach 127.0.0.1:", error.Message);

        var online = await ModelResolver.ResolveAsync(Repo, Options());
        Assert.Equal(online, await ModelResolver.ResolveAsync(Repo, unreachable));
    }

    [Fact]
    public async Task Unknown_repository_is_reported_as_not_found()
    {
        var error = await Assert.ThrowsAsync<HubException>(
            () => ModelResolver.ResolveAsync("test-org/no-such-model", Options()));

        Assert.Equal(HubErrorReason.RepositoryNotFound, error.Reason);
        Assert.Equal($"model 'test-org/no-such-model' not found at {_hub.Endpoint} (revision main)", error.Message);
    }

    [Fact]
    public async Task Unknown_revision_is_reported_as_such()
    {
        var error = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync($"{Repo}@v9", Options()));

        Assert.Equal(HubErrorReason.RevisionNotFound, error.Reason);
        Assert.Equal($"model '{Repo}' has no revision 'v9' at {_hub.Endpoint}", error.Message);
    }

    [Fact]
    public async Task Missing_config_and_missing_weights_are_reported_as_missing_files()
    {
        var noConfig = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(WeightsOnlyRepo, Options()));
        Assert.Equal(HubErrorReason.FileNotFound, noConfig.Reason);
        Assert.Equal($"model '{WeightsOnlyRepo}' has no config.json at revision main", noConfig.Message);

        var noWeights = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(ConfigOnlyRepo, Options()));
        Assert.Equal(HubErrorReason.FileNotFound, noWeights.Reason);
        Assert.StartsWith($"model '{ConfigOnlyRepo}' has no weights at revision main", noWeights.Message);
    }

    [Fact]
    public async Task Private_repository_needs_the_token_and_then_downloads()
    {
        var anonymous = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(PrivateRepo, Options()));
        Assert.Equal(HubErrorReason.AuthenticationRequired, anonymous.Reason);
        Assert.EndsWith("needs authentication (it is private or gated, or does not exist): set HF_TOKEN", anonymous.Message);

        var wrongToken = await Assert.ThrowsAsync<HubException>(
            () => ModelResolver.ResolveAsync(PrivateRepo, Options() with { Token = "hf_wrong" }));
        Assert.Equal(HubErrorReason.AuthenticationRequired, wrongToken.Reason);
        Assert.Contains("refused the token in HF_TOKEN (HTTP 401)", wrongToken.Message);
        Assert.False(Directory.Exists(Path.Combine(_cacheDir, "models--test-org--private-vilt", "snapshots")));

        var requestsBefore = _hub.Requests.Count;
        var folder = await ModelResolver.ResolveAsync(PrivateRepo, Options() with { Token = FakeHub.Token });

        Assert.Equal(_fixture[ModelResolver.SafetensorsFile],
            await File.ReadAllBytesAsync(Path.Combine(folder, ModelResolver.SafetensorsFile)));
        Assert.All(_hub.Requests.Skip(requestsBefore).Where(r => r.Path.Contains("/resolve/")),
            r => Assert.Equal($"Bearer {FakeHub.Token}", r.Authorization));
    }

    [Fact]
    public async Task Dropped_connection_leaves_nothing_complete_and_a_retry_succeeds()
    {
        var weights = _fixture[ModelResolver.SafetensorsFile];
        var blobName = FakeHub.BlobName(ModelResolver.SafetensorsFile, weights);
        _hub.DropNextDownloadOf(blobName);

        var error = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(Repo, Options()));

        Assert.Equal(HubErrorReason.DownloadFailed, error.Reason);
        Assert.StartsWith($"download of {ModelResolver.SafetensorsFile} failed: ", error.Message);
        var repoFolder = Path.Combine(_cacheDir, "models--test-org--vilt-tiny");
        var pointer = Path.Combine(repoFolder, "snapshots", MainCommit, ModelResolver.SafetensorsFile);
        Assert.False(File.Exists(pointer) || new FileInfo(pointer).LinkTarget is not null);
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(repoFolder, "blobs")),
            blob => Path.GetFileName(blob).StartsWith(blobName, StringComparison.Ordinal));

        var folder = await ModelResolver.ResolveAsync(Repo, Options());

        Assert.Equal(weights, await File.ReadAllBytesAsync(Path.Combine(folder, ModelResolver.SafetensorsFile)));
    }

    [Fact]
    public async Task Concurrent_resolves_into_one_cache_download_each_file_once()
    {
        var resolves = Enumerable.Range(0, 3).Select(_ => ModelResolver.ResolveAsync(Repo, Options())).ToList();

        var folders = await Task.WhenAll(resolves);

        Assert.Single(folders.Distinct());
        var weights = _fixture[ModelResolver.SafetensorsFile];
        Assert.Equal(weights, await File.ReadAllBytesAsync(Path.Combine(folders[0], ModelResolver.SafetensorsFile)));
        var blobName = FakeHub.BlobName(ModelResolver.SafetensorsFile, weights);
        Assert.Single(_hub.Requests, r => r.Method == "GET" && r.Path.EndsWith(blobName, StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(_cacheDir, "*.incomplete", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Pinned_commit_is_downloaded_at_that_commit_and_then_needs_no_network()
    {
        var folder = await ModelResolver.ResolveAsync($"{Repo}@{OldCommit}", Options());

        var repoFolder = Path.Combine(_cacheDir, "models--test-org--vilt-tiny");
        Assert.Equal(Path.Combine(repoFolder, "snapshots", OldCommit), folder);
        Assert.All(_hub.Requests.Where(r => r.Path.Contains("/resolve/")),
            r => Assert.StartsWith($"/{Repo}/resolve/{OldCommit}/", r.Path));
        Assert.False(Directory.Exists(Path.Combine(repoFolder, "refs")));
        // That commit has no safetensors: the resolver falls back to pytorch_model.bin and records the absences.
        Assert.Equal(_fixture[ModelResolver.PytorchFile],
            await File.ReadAllBytesAsync(Path.Combine(folder, ModelResolver.PytorchFile)));
        Assert.False(File.Exists(Path.Combine(folder, ModelResolver.SafetensorsFile)));
        Assert.True(File.Exists(Path.Combine(repoFolder, ".no_exist", OldCommit, ModelResolver.SafetensorsFile)));
        Assert.True(File.Exists(Path.Combine(repoFolder, ".no_exist", OldCommit, ModelResolver.SafetensorsIndexFile)));

        var requestsBefore = _hub.Requests.Count;
        Assert.Equal(folder, await ModelResolver.ResolveAsync($"{Repo}@{OldCommit}", Options()));
        Assert.Equal(requestsBefore, _hub.Requests.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Cache_written_by_python_is_found_offline(bool withSymlinks)
    {
        const string pythonRepo = "python-org/vilt-tiny";
        var commit = FakeHub.CommitHash("written by huggingface_hub");
        var repoFolder = Path.Combine(_cacheDir, "models--python-org--vilt-tiny");
        var snapshot = Path.Combine(repoFolder, "snapshots", commit);
        Directory.CreateDirectory(Path.Combine(repoFolder, "blobs"));
        Directory.CreateDirectory(Path.Combine(repoFolder, "refs"));
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(repoFolder, ".no_exist", commit));
        await File.WriteAllTextAsync(Path.Combine(repoFolder, "refs", "main"), commit);
        var downloaded = _fixture.Where(f => f.Key != ModelResolver.PytorchFile).ToDictionary();
        foreach (var (name, bytes) in downloaded)
        {
            var blob = FakeHub.BlobName(name, bytes);
            if (withSymlinks)
            {
                await File.WriteAllBytesAsync(Path.Combine(repoFolder, "blobs", blob), bytes);
                File.CreateSymbolicLink(Path.Combine(snapshot, name), $"../../blobs/{blob}");
            }
            else
            {
                // huggingface_hub's layout where symlinks are unavailable: the file itself sits in the snapshot.
                await File.WriteAllBytesAsync(Path.Combine(snapshot, name), bytes);
            }
        }
        foreach (var absent in ModelResolver.OptionalFiles.Where(f => !_fixture.ContainsKey(f)))
            await File.WriteAllBytesAsync(Path.Combine(repoFolder, ".no_exist", commit, absent), []);

        var folder = await ModelResolver.ResolveAsync(pythonRepo,
            Options() with { Offline = true, Endpoint = FakeHub.UnreachableEndpoint() });

        Assert.Equal(snapshot, folder);
        foreach (var (name, bytes) in downloaded)
            Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(folder, name)));
    }

    [Fact]
    public async Task Renamed_repository_follows_the_relative_redirect()
    {
        var folder = await ModelResolver.ResolveAsync("old-org/vilt-tiny", Options());

        Assert.Equal(Path.Combine(_cacheDir, "models--old-org--vilt-tiny", "snapshots", MainCommit), folder);
        Assert.Contains(_hub.Requests, r => r.Path.StartsWith($"/{Repo}/resolve/main/", StringComparison.Ordinal));
        Assert.Equal(_fixture[ModelResolver.ConfigFile],
            await File.ReadAllBytesAsync(Path.Combine(folder, ModelResolver.ConfigFile)));
    }

    [Fact]
    public async Task Sharded_safetensors_bring_the_index_and_every_shard()
    {
        var folder = await ModelResolver.ResolveAsync(ShardedRepo, Options());

        foreach (var (name, bytes) in ShardedFiles(_fixture))
            Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(folder, name)));
        Assert.False(File.Exists(Path.Combine(folder, ModelResolver.SafetensorsFile)));
    }

    [Fact]
    public async Task Shard_index_naming_a_file_outside_the_repository_is_refused()
    {
        const string evilRepo = "test-org/evil-shards";
        var index = """{"weight_map": {"a.weight": "../../../outside.safetensors"}}""";
        _hub.AddRepo(evilRepo, SingleCommitRepo(new Dictionary<string, byte[]>
        {
            [ModelResolver.ConfigFile] = _fixture[ModelResolver.ConfigFile],
            [ModelResolver.SafetensorsIndexFile] = Encoding.UTF8.GetBytes(index),
        }));

        var error = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(evilRepo, Options()));

        Assert.Equal(HubErrorReason.FileNotFound, error.Reason);
        Assert.StartsWith($"model '{evilRepo}' has an unusable {ModelResolver.SafetensorsIndexFile}", error.Message);
        Assert.DoesNotContain(_hub.Requests, r => r.Path.Contains("outside", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hub_that_does_not_answer_times_out()
    {
        _hub.Stall = TimeSpan.FromSeconds(5);

        var error = await Assert.ThrowsAsync<HubException>(
            () => ModelResolver.ResolveAsync(Repo, Options() with { Timeout = TimeSpan.FromMilliseconds(300) }));

        Assert.Equal(HubErrorReason.Timeout, error.Reason);
        Assert.StartsWith($"download of {ModelResolver.ConfigFile} failed: no answer from 127.0.0.1:", error.Message);
    }

    [Fact]
    public async Task Progress_reports_bytes_of_each_file_up_to_its_size()
    {
        var progress = new RecordingProgress();

        await ModelResolver.ResolveAsync(Repo, Options() with { Progress = progress });

        var weights = progress.Events.Where(e => e.File == ModelResolver.SafetensorsFile).ToList();
        Assert.NotEmpty(weights);
        Assert.True(weights.Zip(weights.Skip(1)).All(pair => pair.First.BytesDone < pair.Second.BytesDone));
        var size = _fixture[ModelResolver.SafetensorsFile].Length;
        Assert.Equal(new HubDownloadProgress(ModelResolver.SafetensorsFile, size, size), weights[^1]);
    }

    [Fact]
    public async Task Download_file_returns_the_snapshot_path_of_one_file()
    {
        using var client = new HubClient(Options());

        var path = await client.DownloadFileAsync(ModelId.Parse(Repo), "vocab.txt");

        Assert.Equal(Path.Combine(_cacheDir, "models--test-org--vilt-tiny", "snapshots", MainCommit, "vocab.txt"), path);
        Assert.Equal(_fixture["vocab.txt"], await File.ReadAllBytesAsync(path));
        var missing = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(ModelId.Parse(Repo), "tokenizer.json"));
        Assert.Equal(HubErrorReason.FileNotFound, missing.Reason);
    }

    [Fact]
    public async Task Existing_local_folder_wins_without_touching_the_network()
    {
        var local = Fixtures.PathOf("vilt-tiny");

        var folder = await ModelResolver.ResolveAsync(local, Options() with { Endpoint = FakeHub.UnreachableEndpoint() });

        Assert.Equal(Path.GetFullPath(local), folder);
    }

    [Fact]
    public async Task Text_that_is_neither_a_folder_nor_an_id_is_rejected()
    {
        var error = await Assert.ThrowsAsync<HubException>(
            () => ModelResolver.ResolveAsync("./no/such/model/folder", Options()));

        Assert.Equal(HubErrorReason.InvalidModelId, error.Reason);
        Assert.StartsWith("'./no/such/model/folder' is neither an existing folder nor a Hub model id", error.Message);
        Assert.Empty(_hub.Requests);
    }

    private HubOptions Options() => new()
    {
        Endpoint = _hub.Endpoint,
        CacheDir = _cacheDir,
        Timeout = TimeSpan.FromSeconds(10),
    };

    private static FakeRepo SingleCommitRepo(IReadOnlyDictionary<string, byte[]> files, bool isPrivate = false)
    {
        var commit = FakeHub.CommitHash(string.Join(',', files.Keys.Order()) + isPrivate);
        return new FakeRepo([new FakeCommit(commit, files)], new Dictionary<string, string> { ["main"] = commit }, isPrivate);
    }

    /// <summary>The fixture's safetensors split in two "shards" with an index naming them, beside its config.</summary>
    private static Dictionary<string, byte[]> ShardedFiles(IReadOnlyDictionary<string, byte[]> fixture)
    {
        var weights = fixture[ModelResolver.SafetensorsFile];
        const string first = "model-00001-of-00002.safetensors";
        const string second = "model-00002-of-00002.safetensors";
        var index = $$"""
            {"metadata": {"total_size": {{weights.Length}}},
             "weight_map": {"a.weight": "{{first}}", "b.weight": "{{second}}", "c.weight": "{{first}}"}
            }
            """;
        return new Dictionary<string, byte[]>
        {
            [ModelResolver.ConfigFile] = fixture[ModelResolver.ConfigFile],
            [ModelResolver.SafetensorsIndexFile] = Encoding.UTF8.GetBytes(index),
            [first] = weights[..(weights.Length / 2)],
            [second] = weights[(weights.Length / 2)..],
        };
    }

    /// <summary>Every file at the top of the vilt-tiny fixture folder, as the fake Hub serves them.</summary>
    private static IReadOnlyDictionary<string, byte[]> FixtureFiles() =>
        Directory.GetFiles(Fixtures.PathOf("vilt-tiny")).ToDictionary(path => Path.GetFileName(path), File.ReadAllBytes);

    private sealed class RecordingProgress : IProgress<HubDownloadProgress>
    {
        private readonly List<HubDownloadProgress> _events = [];

        public IReadOnlyList<HubDownloadProgress> Events
        {
            get
            {
                lock (_events)
                    return [.. _events];
            }
        }

        public void Report(HubDownloadProgress value)
        {
            lock (_events)
                _events.Add(value);
        }
    }
}
