using VqaPipeline.Ml.Checkpoints.Hub;

namespace VqaPipeline.Ml.Tests.Hub;

/// <summary>Model ids, options read from the environment, and etag normalisation, as huggingface_hub defines them.</summary>
public sealed class HubNamingTests : IDisposable
{
    private readonly List<string> _folders = [];

    public void Dispose()
    {
        foreach (var folder in _folders)
            Directory.Delete(folder, recursive: true);
    }

    [Theory]
    [InlineData("gpt2", "gpt2", "main")]
    [InlineData("dandelin/vilt-b32-finetuned-vqa", "dandelin/vilt-b32-finetuned-vqa", "main")]
    [InlineData("Salesforce/blip-vqa-base@v1.0", "Salesforce/blip-vqa-base", "v1.0")]
    [InlineData("org/name@refs/pr/1", "org/name", "refs/pr/1")]
    [InlineData("a.b_c-d/e1@0123456789abcdef0123456789abcdef01234567", "a.b_c-d/e1", "0123456789abcdef0123456789abcdef01234567")]
    public void Valid_ids_parse_into_repository_and_revision(string text, string repoId, string revision)
    {
        var model = ModelId.Parse(text);

        Assert.Equal(repoId, model.RepoId);
        Assert.Equal(revision, model.Revision);
        Assert.Equal(revision.Length == 40, model.IsCommit);
        Assert.Equal(text, model.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("org/")]
    [InlineData("/name")]
    [InlineData("a/b/c")]
    [InlineData("org//name")]
    [InlineData("org/na me")]
    [InlineData("-org/name")]
    [InlineData("org/name.")]
    [InlineData("org--x/name")]
    [InlineData("org/na..me")]
    [InlineData("org/name@")]
    [InlineData("@main")]
    [InlineData("org/name@../../etc")]
    [InlineData("org/name@a b")]
    [InlineData("./models/vilt")]
    public void Malformed_ids_are_rejected_with_the_text_in_the_message(string text)
    {
        var error = Assert.Throws<HubException>(() => ModelId.Parse(text));

        Assert.Equal(HubErrorReason.InvalidModelId, error.Reason);
        Assert.StartsWith($"'{text}' is not a Hub model id (org/name[@revision]): ", error.Message);
    }

    [Fact]
    public void Over_long_repository_names_are_rejected()
    {
        var error = Assert.Throws<HubException>(() => ModelId.Parse("org/" + new string('a', 93)));

        Assert.Contains("longer than 96", error.Message);
    }

    [Fact]
    public void Environment_defaults_match_huggingface_hub()
    {
        var home = EmptyFolder();
        var options = HubOptions.FromEnvironment(Variables(("HF_HOME", home)));

        Assert.Equal("https://huggingface.co", options.Endpoint);
        Assert.Null(options.Token);
        Assert.False(options.Offline);
        Assert.Equal(Path.Combine(home, "hub"), options.CacheDir);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Timeout);
    }

    [Fact]
    public void Environment_variables_override_the_defaults()
    {
        var options = HubOptions.FromEnvironment(Variables(
            ("HF_HOME", EmptyFolder()), ("HF_HUB_CACHE", "/data/hub"), ("HF_ENDPOINT", "https://mirror.example/"),
            ("HF_TOKEN", "hf_abc"), ("HF_HUB_OFFLINE", "1"), ("HF_HUB_DOWNLOAD_TIMEOUT", "2.5")));

        Assert.Equal("/data/hub", options.CacheDir);
        Assert.Equal("https://mirror.example", options.Endpoint);
        Assert.Equal("hf_abc", options.Token);
        Assert.True(options.Offline);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.Timeout);
    }

    [Fact]
    public void Token_file_written_by_the_python_login_is_used_when_HF_TOKEN_is_unset()
    {
        var home = EmptyFolder();
        File.WriteAllText(Path.Combine(home, "token"), "hf_from_file\n");

        Assert.Equal("hf_from_file", HubOptions.FromEnvironment(Variables(("HF_HOME", home))).Token);
        Assert.Equal("hf_env", HubOptions.FromEnvironment(Variables(("HF_HOME", home), ("HF_TOKEN", "hf_env"))).Token);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("", false)]
    public void Offline_flag_reads_like_python(string value, bool offline)
    {
        var options = HubOptions.FromEnvironment(Variables(("HF_HOME", EmptyFolder()), ("HF_HUB_OFFLINE", value)));

        Assert.Equal(offline, options.Offline);
    }

    [Theory]
    [InlineData("\"abc123\"", "abc123")]
    [InlineData("W/\"abc123\"", "abc123")]
    [InlineData("abc123", "abc123")]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Etags_lose_quotes_and_the_weak_prefix(string? header, string? expected)
    {
        Assert.Equal(expected, HubClient.NormalizeEtag(header));
    }

    private static Func<string, string?> Variables(params (string Name, string Value)[] values)
    {
        var map = values.ToDictionary(v => v.Name, v => v.Value);
        return name => map.GetValueOrDefault(name);
    }

    private string EmptyFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "vqa-hub-home-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        _folders.Add(path);
        return path;
    }
}
