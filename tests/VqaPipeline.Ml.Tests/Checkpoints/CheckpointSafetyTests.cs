using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using VqaPipeline.Ml.Checkpoints;

namespace VqaPipeline.Ml.Tests.Checkpoints;

public class CheckpointSafetyTests
{
    private static byte[] FixtureSafetensors() => File.ReadAllBytes(Fixtures.PathOf("vilt-tiny", "model.safetensors"));

    private static long HeaderLength(byte[] file) => (long)BinaryPrimitives.ReadUInt64LittleEndian(file);

    /// <summary>Cut points derived from the fixture's own layout: inside the length, the header, the data.</summary>
    public static TheoryData<string, double> CutPoints => new()
    {
        { "empty", 0 },
        { "inside the header length", 0 },
        { "inside the header", 0.5 },
        { "just after the header", 1.0 },
        { "inside the data", 0.5 },
        { "one byte short", 1.0 },
    };

    [Theory]
    [MemberData(nameof(CutPoints))]
    public void Truncated_safetensors_is_a_format_error(string where, double fraction)
    {
        var file = FixtureSafetensors();
        var dataStart = 8 + HeaderLength(file);
        var length = where switch
        {
            "empty" => 0,
            "inside the header length" => 5,
            "inside the header" => 8 + (long)(HeaderLength(file) * fraction),
            "just after the header" => dataStart,
            "inside the data" => dataStart + (long)((file.Length - dataStart) * fraction),
            _ => file.Length - 1,
        };
        using var folder = new TemporaryFolder();
        var path = folder.File("model.safetensors");
        File.WriteAllBytes(path, file[..(int)length]);

        var error = Assert.Throws<CheckpointFormatException>(() => Safetensors.Read(path));
        Assert.Contains(path, error.Message);
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 40)]
    [InlineData(100_000_001UL)]
    public void A_header_claiming_a_huge_length_is_refused(ulong claimed)
    {
        var file = FixtureSafetensors();
        BinaryPrimitives.WriteUInt64LittleEndian(file, claimed);
        using var folder = new TemporaryFolder();
        var path = folder.File("model.safetensors");
        File.WriteAllBytes(path, file);

        var error = Assert.Throws<CheckpointFormatException>(() => Safetensors.Read(path));
        Assert.Contains("header claims", error.Message);
    }

    [Theory]
    [InlineData("not json at all", 0, "not valid JSON")]
    [InlineData("[1, 2]", 0, "not a JSON object")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4, "needs 8")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}""", 8, "overlap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "gap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 12, "cover 4")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "run past")]
    [InlineData("""{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}""", 8, "unsupported dtype 'C64'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, "non-negative")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4611686018427387904, 4],"data_offsets":[0,4]}}""", 4, "too large")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", 4, "begin <= end")]
    [InlineData("""{"__metadata__":{"format":1}}""", 0, "not a string")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "twice")]
    public void A_bad_header_is_a_format_error_naming_the_problem(string header, int dataLength, string problem)
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("bad.safetensors");
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + headerBytes.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)headerBytes.Length);
        headerBytes.CopyTo(file, 8);
        File.WriteAllBytes(path, file);

        var error = Assert.Throws<CheckpointFormatException>(() => Safetensors.Read(path));
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void The_writer_round_trips_every_dtype_with_format_metadata()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("all.safetensors");
        var tensors = Enum.GetValues<TensorDType>()
            .Select((dtype, i) => new CheckpointTensor($"t{i}", dtype, [2, 1],
                Enumerable.Range(0, 2 * dtype.ElementSize()).Select(b => (byte)(b * 7 + i)).ToArray()))
            .Append(new CheckpointTensor("empty", TensorDType.Float32, [0, 3], Array.Empty<byte>()))
            .ToList();

        Safetensors.Write(path, tensors);
        using var read = Safetensors.Read(path);

        Assert.Equal("pt", Assert.Single(read.Metadata).Value);
        Assert.Equal(0, (8 + HeaderLength(File.ReadAllBytes(path))) % 8);
        foreach (var tensor in tensors)
            CheckpointReaderTests.AssertSameTensor(tensor, read[tensor.Name]);
    }

    [Fact]
    public void A_disposed_state_dict_refuses_access_to_mapped_bytes()
    {
        var weights = Safetensors.Read(Fixtures.PathOf("vilt-tiny", "model.safetensors"));
        var tensor = weights.Values.First();
        weights.Dispose();
        Assert.Throws<ObjectDisposedException>(() => tensor.Data.Span.Length);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public void A_truncated_zip_bin_is_a_format_error(double fraction)
    {
        var file = File.ReadAllBytes(Fixtures.PathOf("vilt-tiny", "pytorch_model.bin"));
        using var folder = new TemporaryFolder();
        var path = folder.File("pytorch_model.bin");
        File.WriteAllBytes(path, file[..(int)(file.Length * fraction)]);
        Assert.Throws<CheckpointFormatException>(() => CheckpointReader.ReadFile(path));
    }

    [Fact]
    public void A_zip_magic_followed_by_garbage_is_a_format_error()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("pytorch_model.bin");
        File.WriteAllBytes(path, [.. "PK\x03\x04"u8, .. Enumerable.Repeat((byte)0xAB, 300)]);
        Assert.Throws<CheckpointFormatException>(() => CheckpointReader.ReadFile(path));
    }

    /// <summary>GLOBAL module name, then REDUCE on ('touch &lt;marker&gt;',): what a pickle exploit looks like.</summary>
    private static byte[] ExploitPickle(string module, string name, string marker, bool stackGlobal = false)
    {
        var pickle = new PickleBuilder().EmptyDict().String("weight");
        (stackGlobal ? pickle.StackGlobal(module, name) : pickle.Global(module, name))
            .String($"touch {marker}").Op(0x85).Reduce().SetItem().Stop();
        return pickle.ToArray();
    }

    [Theory]
    [InlineData("posix", "system", false)]
    [InlineData("os", "system", false)]
    [InlineData("builtins", "eval", false)]
    [InlineData("__builtin__", "eval", false)]
    [InlineData("subprocess", "check_output", false)]
    [InlineData("torch", "load", false)]
    [InlineData("posix", "system", true)]
    public void A_pickle_naming_any_other_global_is_refused_before_anything_runs(string module, string name, bool stackGlobal)
    {
        using var folder = new TemporaryFolder();
        var marker = Path.Combine(Path.GetTempPath(), $"pwned-{Guid.NewGuid():N}");
        var path = folder.File("pytorch_model.bin");
        PickleBuilder.WriteTorchZip(path, ExploitPickle(module, name, marker, stackGlobal), new Dictionary<string, byte[]>());

        var error = Assert.Throws<UnsafeCheckpointException>(() => CheckpointReader.ReadFolder(folder.Path));

        Assert.Equal($"refusing to load '{path}': global '{module}.{name}' is not allowed; only tensor data is accepted", error.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void A_raw_pickle_named_bin_is_never_unpickled()
    {
        using var folder = new TemporaryFolder();
        var marker = Path.Combine(Path.GetTempPath(), $"pwned-{Guid.NewGuid():N}");
        var path = folder.File("pytorch_model.bin");
        File.WriteAllBytes(path, ExploitPickle("posix", "system", marker));

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.ReadFile(path));

        Assert.Contains("not a zip-format torch checkpoint", error.Message);
        Assert.False(File.Exists(marker));
    }

    private static readonly float[] Storage = [0, 1, 2, 3, 4, 5];

    private static Dictionary<string, byte[]> StorageZero() => new() { ["0"] = MemoryMarshal.AsBytes(Storage.AsSpan()).ToArray() };

    private static float[] Floats(CheckpointTensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    [Fact]
    public void Strided_and_shared_storages_become_contiguous_tensors()
    {
        var pickle = new PickleBuilder().EmptyOrderedDict().Mark()
            .String("transposed").FloatTensor("0", 6, 0, [2, 3], [1, 2])
            .String("slice").Global("torch._utils", "_rebuild_parameter").Mark()
                .FloatTensor("0", 6, 4, [2], [1]).Bool(true).EmptyOrderedDict().Tuple().Reduce()
            .String("whole").FloatTensor("0", 6, 0, [3, 2], [2, 1])
            .String("scalar").FloatTensor("0", 6, 3, [], [])
            .SetItems()
            .EmptyDict().String("_metadata").EmptyOrderedDict().SetItem().Build()
            .Stop();
        using var folder = new TemporaryFolder();
        var path = folder.File("pytorch_model.bin");
        PickleBuilder.WriteTorchZip(path, pickle.ToArray(), StorageZero());

        using var weights = CheckpointReader.ReadFile(path);

        Assert.Equal(["transposed", "slice", "whole", "scalar"], weights.Keys);
        Assert.Equal([0f, 2, 4, 1, 3, 5], Floats(weights["transposed"]));
        Assert.Equal([4f, 5], Floats(weights["slice"]));
        Assert.Equal(Storage, Floats(weights["whole"]));
        Assert.Equal([3f], Floats(weights["scalar"]));
        Assert.Empty(weights["scalar"].Shape);
        Assert.True(MemoryMarshal.TryGetArray(weights["slice"].Data, out var slice)
                    && MemoryMarshal.TryGetArray(weights["whole"].Data, out var whole)
                    && ReferenceEquals(slice.Array, whole.Array), "tensors of one storage share its bytes");
    }

    [Fact]
    public void A_view_past_its_storage_is_a_format_error()
    {
        var pickle = new PickleBuilder().EmptyDict().String("w").FloatTensor("0", 6, 4, [4], [1]).SetItem().Stop();
        using var folder = new TemporaryFolder();
        var path = folder.File("pytorch_model.bin");
        PickleBuilder.WriteTorchZip(path, pickle.ToArray(), StorageZero());

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.ReadFile(path));
        Assert.Contains("reaches element 7", error.Message);
    }

    [Fact]
    public void A_missing_storage_record_is_a_format_error()
    {
        var pickle = new PickleBuilder().EmptyDict().String("w").FloatTensor("9", 6, 0, [6], [1]).SetItem().Stop();
        using var folder = new TemporaryFolder();
        var path = folder.File("pytorch_model.bin");
        PickleBuilder.WriteTorchZip(path, pickle.ToArray(), StorageZero());

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.ReadFile(path));
        Assert.Contains("storage '9'", error.Message);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'t' }, "MARK")]
    [InlineData(new byte[] { (byte)'R' }, "stack is empty")]
    [InlineData(new byte[] { (byte)'h', 7 }, "memo entry 7")]
    [InlineData(new byte[] { (byte)'X', 0xff, 0xff, 0xff, 0x7f }, "runs past the end")]
    [InlineData(new byte[] { (byte)'I' }, "opcode 0x49")]
    [InlineData(new byte[] { (byte)'N' }, "ends unexpectedly")]
    [InlineData(new byte[] { (byte)'N', (byte)'.' }, "does not hold a state dict")]
    public void A_malformed_pickle_is_a_format_error(byte[] body, string problem)
    {
        var pickle = new PickleBuilder();
        foreach (var opcode in body)
            pickle.Op(opcode);
        using var folder = new TemporaryFolder();
        var path = folder.File("pytorch_model.bin");
        PickleBuilder.WriteTorchZip(path, pickle.ToArray(), new Dictionary<string, byte[]>());

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.ReadFile(path));
        Assert.Contains(problem, error.Message);
    }
}
