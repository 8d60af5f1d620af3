using VqaPipeline.Ml.Checkpoints;

namespace VqaPipeline.Ml.Tests.Checkpoints;

public class CheckpointReaderTests
{
    public static TheoryData<string> ModelFolders => new() { "vilt-tiny", "blip-vqa-tiny", "blip2-opt-tiny" };

    [Theory]
    [MemberData(nameof(ModelFolders))]
    public void Both_weight_files_hold_the_same_tensors_except_tied_duplicates(string model)
    {
        using var safetensors = CheckpointReader.ReadFile(Fixtures.PathOf(model, "model.safetensors"));
        using var pickled = CheckpointReader.ReadFile(Fixtures.PathOf(model, "pytorch_model.bin"));

        Assert.NotEmpty(safetensors);
        Assert.Empty(safetensors.Keys.Except(pickled.Keys));
        foreach (var (name, tensor) in safetensors)
            AssertSameTensor(tensor, pickled[name]);

        // transformers drops tied duplicates (lm_head ← embed_tokens) from safetensors only: each extra .bin key
        // must repeat a tensor that safetensors holds under another name.
        foreach (var extra in pickled.Keys.Except(safetensors.Keys))
            Assert.Contains(safetensors.Values, tensor => SameContent(tensor, pickled[extra]));
    }

    [Fact]
    public void Vilt_weight_files_are_identical_dictionaries()
    {
        using var safetensors = CheckpointReader.ReadFile(Fixtures.PathOf("vilt-tiny", "model.safetensors"));
        using var pickled = CheckpointReader.ReadFile(Fixtures.PathOf("vilt-tiny", "pytorch_model.bin"));

        Assert.Equal(safetensors.Keys.Order(StringComparer.Ordinal), pickled.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in pickled)
            AssertSameTensor(safetensors[name], tensor);
        Assert.Equal("pt", safetensors.Metadata["format"]);
    }

    [Fact]
    public void A_folder_prefers_safetensors()
    {
        using var weights = CheckpointReader.ReadFolder(Fixtures.PathOf("vilt-tiny"));
        Assert.Equal("pt", weights.Metadata["format"]);
    }

    [Fact]
    public void A_folder_without_weights_is_reported()
    {
        using var folder = new TemporaryFolder();
        var error = Assert.Throws<ModelNotFoundException>(() => CheckpointReader.ReadFolder(folder.Path));
        Assert.Contains("model.safetensors", error.Message);
    }

    [Fact]
    public void A_sharded_copy_written_by_the_writer_reads_back_equal()
    {
        using var original = CheckpointReader.ReadFile(Fixtures.PathOf("vilt-tiny", "model.safetensors"));
        using var folder = new TemporaryFolder();
        var tensors = original.Values.ToList();
        var half = tensors.Count / 2;
        string[] shardNames = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
        Safetensors.Write(Path.Combine(folder.Path, shardNames[0]), tensors[..half]);
        Safetensors.Write(Path.Combine(folder.Path, shardNames[1]), tensors[half..]);
        var weightMap = tensors.Select((tensor, i) => KeyValuePair.Create(tensor.Name, shardNames[i < half ? 0 : 1]));
        File.WriteAllText(Path.Combine(folder.Path, "model.safetensors.index.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            metadata = new { total_size = tensors.Sum(tensor => (long)tensor.Data.Length) },
            weight_map = new Dictionary<string, string>(weightMap),
        }));

        using var sharded = CheckpointReader.ReadFolder(folder.Path);

        Assert.Equal(original.Keys.Order(StringComparer.Ordinal), sharded.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in original)
            AssertSameTensor(tensor, sharded[name]);
    }

    [Fact]
    public void A_shard_index_cannot_point_outside_its_folder()
    {
        using var folder = new TemporaryFolder();
        var index = Path.Combine(folder.Path, "model.safetensors.index.json");
        File.WriteAllText(index, """{"weight_map": {"a": "../../etc/passwd.safetensors"}}""");
        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.ReadFile(index));
        Assert.Contains("../../etc/passwd.safetensors", error.Message);
    }

    internal static void AssertSameTensor(CheckpointTensor expected, CheckpointTensor actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.True(expected.Data.Span.SequenceEqual(actual.Data.Span), $"bytes of '{expected.Name}' differ");
    }

    private static bool SameContent(CheckpointTensor a, CheckpointTensor b) =>
        a.DType == b.DType && a.Shape.SequenceEqual(b.Shape) && a.Data.Span.SequenceEqual(b.Data.Span);
}
