using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace VqaPipeline.Ml.Tests.Checkpoints;

/// <summary>Writes protocol-2 pickle opcodes by hand, to craft torch checkpoints (honest and hostile) in tests.</summary>
internal sealed class PickleBuilder
{
    private readonly List<byte> _bytes = [0x80, 0x02];

    public PickleBuilder Op(byte opcode)
    {
        _bytes.Add(opcode);
        return this;
    }

    public PickleBuilder Mark() => Op((byte)'(');
    public PickleBuilder Tuple() => Op((byte)'t');
    public PickleBuilder EmptyTuple() => Op((byte)')');
    public PickleBuilder EmptyDict() => Op((byte)'}');
    public PickleBuilder Reduce() => Op((byte)'R');
    public PickleBuilder Build() => Op((byte)'b');
    public PickleBuilder SetItem() => Op((byte)'s');
    public PickleBuilder SetItems() => Op((byte)'u');
    public PickleBuilder PersistentId() => Op((byte)'Q');
    public PickleBuilder Bool(bool value) => Op(value ? (byte)0x88 : (byte)0x89);
    public PickleBuilder Stop() => Op((byte)'.');

    public PickleBuilder Global(string module, string name)
    {
        Op((byte)'c');
        _bytes.AddRange(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        return this;
    }

    public PickleBuilder StackGlobal(string module, string name) => String(module).String(name).Op(0x93);

    public PickleBuilder String(string value)
    {
        var utf8 = Encoding.UTF8.GetBytes(value);
        Op((byte)'X');
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
        _bytes.AddRange(length);
        _bytes.AddRange(utf8);
        return this;
    }

    public PickleBuilder Int(int value)
    {
        Op((byte)'J');
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        _bytes.AddRange(bytes);
        return this;
    }

    public PickleBuilder Ints(params int[] values)
    {
        Mark();
        foreach (var value in values)
            Int(value);
        return Tuple();
    }

    public PickleBuilder EmptyOrderedDict() => Global("collections", "OrderedDict").EmptyTuple().Reduce();

    /// <summary>A <c>_rebuild_tensor_v2</c> call on float storage <paramref name="key"/> of <paramref name="storageSize"/> elements.</summary>
    public PickleBuilder FloatTensor(string key, int storageSize, int offset, int[] size, int[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().String("storage").Global("torch", "FloatStorage").String(key).String("cpu").Int(storageSize).Tuple().PersistentId();
        return Int(offset).Ints(size).Ints(stride).Bool(false).EmptyOrderedDict().Tuple().Reduce();
    }

    public byte[] ToArray() => _bytes.ToArray();

    /// <summary>A torch zip checkpoint: <c>archive/data.pkl</c>, <c>archive/byteorder</c> and the given storages.</summary>
    public static void WriteTorchZip(string path, byte[] pickle, IReadOnlyDictionary<string, byte[]> storages)
    {
        using var archive = ZipFile.Open(path, ZipArchiveMode.Create);
        Add(archive, "archive/data.pkl", pickle);
        Add(archive, "archive/byteorder", "little"u8.ToArray());
        foreach (var (key, bytes) in storages)
            Add(archive, $"archive/data/{key}", bytes);
        Add(archive, "archive/version", "3\n"u8.ToArray());
    }

    private static void Add(ZipArchive archive, string name, byte[] bytes)
    {
        using var stream = archive.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(bytes);
    }
}
