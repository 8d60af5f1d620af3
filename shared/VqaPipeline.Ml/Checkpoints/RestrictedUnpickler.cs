using System.Buffers.Binary;
using System.Text;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// A pickle virtual machine that only builds data: dicts, lists, tuples, numbers, strings, and the handful of globals
/// <c>torch.save</c> uses for a state dict (like torch's <c>weights_only</c> unpickler). Any other global is refused
/// the moment it is named, so nothing a malicious pickle asks for is ever imported or called.
/// </summary>
internal sealed class RestrictedUnpickler
{
    /// <summary>A storage referenced from the pickle by persistent id; its bytes live in <c>data/&lt;Key&gt;</c>.</summary>
    internal sealed record StorageReference(string Key, TensorDType DType, long ElementCount);

    /// <summary>A tensor as <c>_rebuild_tensor_v2</c> describes it: a strided view into a storage.</summary>
    internal sealed record TensorView(StorageReference Storage, long Offset, long[] Shape, long[] Strides);

    private enum Global { OrderedDict, RebuildTensor, RebuildParameter, RebuildParameterWithState, Storage }

    private sealed record GlobalReference(Global Kind, TensorDType StorageDType = default);

    private static readonly Dictionary<string, TensorDType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = TensorDType.Float32,
        ["HalfStorage"] = TensorDType.Float16,
        ["BFloat16Storage"] = TensorDType.BFloat16,
        ["DoubleStorage"] = TensorDType.Float64,
        ["LongStorage"] = TensorDType.Int64,
        ["IntStorage"] = TensorDType.Int32,
        ["ShortStorage"] = TensorDType.Int16,
        ["CharStorage"] = TensorDType.Int8,
        ["ByteStorage"] = TensorDType.UInt8,
        ["BoolStorage"] = TensorDType.Bool,
        ["UntypedStorage"] = TensorDType.UInt8,
    };

    private static readonly Dictionary<string, Global> Callables = new(StringComparer.Ordinal)
    {
        ["collections.OrderedDict"] = Global.OrderedDict,
        ["torch._utils._rebuild_tensor_v2"] = Global.RebuildTensor,
        ["torch._utils._rebuild_parameter"] = Global.RebuildParameter,
        ["torch._utils._rebuild_parameter_with_state"] = Global.RebuildParameterWithState,
    };

    private readonly string _source;
    private readonly byte[] _pickle;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private readonly Dictionary<string, StorageReference> _storages = new(StringComparer.Ordinal);
    private int _position;

    private RestrictedUnpickler(string source, byte[] pickle)
    {
        _source = source;
        _pickle = pickle;
    }

    /// <summary>
    /// Runs <paramref name="pickle"/> and returns its result: <c>null</c>, bool, long, double, string, byte[],
    /// <c>List&lt;object?&gt;</c>, <c>object?[]</c> (tuple), <c>OrderedDictionary&lt;object, object?&gt;</c> or
    /// <see cref="TensorView"/>. <paramref name="source"/> names the file in error messages.
    /// </summary>
    public static object? Load(string source, byte[] pickle) => new RestrictedUnpickler(source, pickle).Run();

    private object? Run()
    {
        while (true)
        {
            var offset = _position;
            var opcode = ReadByte();
            switch (opcode)
            {
                case 0x80: ReadByte(); break; // PROTO: any version; unknown opcodes are refused anyway
                case 0x95: ReadBytes(8); break; // FRAME: only a read-ahead hint
                case (byte)'.': return Pop(); // STOP
                case (byte)'(': _marks.Push(_stack.Count); break;
                case (byte)'0': Pop(); break;
                case (byte)'1': PopToMark(); break;
                case (byte)'2': Push(Peek()); break;
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break;
                case (byte)'K': Push((long)ReadByte()); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break;
                case 0x8a: Push(ReadLong(ReadByte())); break;
                case 0x8b: Push(ReadLong(ReadLength(4))); break;
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break;
                case (byte)'X': Push(ReadUtf8(ReadLength(4))); break;
                case 0x8c: Push(ReadUtf8(ReadByte())); break;
                case 0x8d: Push(ReadUtf8(ReadLength(8))); break;
                case (byte)'B': Push(ReadBytes(ReadLength(4)).ToArray()); break;
                case (byte)'C': Push(ReadBytes(ReadByte()).ToArray()); break;
                case 0x8e: Push(ReadBytes(ReadLength(8)).ToArray()); break;
                case (byte)'}': Push(new OrderedDictionary<object, object?>()); break;
                case (byte)']': Push(new List<object?>()); break;
                case (byte)')': Push(Array.Empty<object?>()); break;
                case (byte)'t': Push(PopToMark().ToArray()); break;
                case 0x85: Push(new[] { Pop() }); break;
                case 0x86: { var second = Pop(); Push(new[] { Pop(), second }); break; }
                case 0x87: { var third = Pop(); var second = Pop(); Push(new[] { Pop(), second, third }); break; }
                case (byte)'l': Push(PopToMark()); break;
                case (byte)'d': Push(ToDictionary(PopToMark())); break;
                case (byte)'a': { var item = Pop(); Expect<List<object?>>(Peek(), "APPEND").Add(item); break; }
                case (byte)'e': { var items = PopToMark(); Expect<List<object?>>(Peek(), "APPENDS").AddRange(items); break; }
                case (byte)'s': { var value = Pop(); var key = Pop(); SetItem(Peek(), key, value); break; }
                case (byte)'u': { var items = PopToMark(); SetItems(Peek(), items); break; }
                case (byte)'c': Push(ResolveGlobal(ReadLine(), ReadLine())); break;
                case 0x93: { var name = Pop(); var module = Pop(); Push(ResolveGlobal(Expect<string>(module, "STACK_GLOBAL"), Expect<string>(name, "STACK_GLOBAL"))); break; }
                case (byte)'i': ResolveGlobal(ReadLine(), ReadLine()); throw Unsupported("INST", offset);
                case 0x82 or 0x83 or 0x84: throw new UnsafeCheckpointException(
                    $"refusing to load '{_source}': pickle extension codes (EXT opcodes) are not allowed; only tensor data is accepted");
                case (byte)'R': { var arguments = Pop(); var callable = Pop(); Push(Call(callable, arguments)); break; }
                case (byte)'b': Pop(); AcceptBuild(Peek()); break;
                case (byte)'Q': Push(PersistentLoad(Pop())); break;
                case (byte)'q': _memo[ReadByte()] = Peek(); break;
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = Peek(); break;
                case 0x94: _memo[_memo.Count] = Peek(); break;
                case (byte)'h': Push(MemoGet(ReadByte())); break;
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break;
                default: throw Unsupported($"0x{opcode:x2}", offset);
            }
        }
    }

    private GlobalReference ResolveGlobal(string module, string name)
    {
        var qualified = $"{module}.{name}";
        if (Callables.TryGetValue(qualified, out var kind))
            return new GlobalReference(kind);
        if (module == "torch" && StorageTypes.TryGetValue(name, out var dtype))
            return new GlobalReference(Global.Storage, dtype);
        throw new UnsafeCheckpointException(
            $"refusing to load '{_source}': global '{qualified}' is not allowed; only tensor data is accepted");
    }

    private object Call(object? callable, object? arguments)
    {
        var global = Expect<GlobalReference>(callable, "REDUCE");
        var args = Expect<object?[]>(arguments, "REDUCE");
        switch (global.Kind)
        {
            case Global.OrderedDict when args.Length == 0:
                return new OrderedDictionary<object, object?>();
            case Global.RebuildTensor when args.Length is 6 or 7:
                return new TensorView(
                    Expect<StorageReference>(args[0], "_rebuild_tensor_v2 storage"),
                    Expect<long>(args[1], "_rebuild_tensor_v2 storage offset"),
                    ToLongs(args[2], "_rebuild_tensor_v2 size"),
                    ToLongs(args[3], "_rebuild_tensor_v2 stride"));
            case Global.RebuildParameter when args.Length == 3:
            case Global.RebuildParameterWithState when args.Length == 4:
                return Expect<TensorView>(args[0], "_rebuild_parameter data");
            default:
                throw Malformed($"a call to {global.Kind} with {args.Length} arguments is not a tensor rebuild torch.save writes");
        }
    }

    /// <summary>
    /// BUILD only ever attaches <c>_metadata</c> (module versions) to a state dict's OrderedDict; loading does not need
    /// it, so the state is dropped. BUILD on anything else is not something torch.save writes.
    /// </summary>
    private void AcceptBuild(object? target)
    {
        if (target is not OrderedDictionary<object, object?>)
            throw Malformed($"BUILD on {Describe(target)} is not something torch.save writes");
    }

    private StorageReference PersistentLoad(object? persistentId)
    {
        var id = Expect<object?[]>(persistentId, "persistent id");
        if (id.Length != 5 || id[0] is not "storage")
            throw Malformed("a persistent id is not a ('storage', type, key, location, size) tuple");
        var type = Expect<GlobalReference>(id[1], "storage type");
        if (type.Kind != Global.Storage)
            throw Malformed("a persistent id names a non-storage type");
        var key = Expect<string>(id[2], "storage key");
        var elementCount = Expect<long>(id[4], "storage size");
        if (elementCount < 0)
            throw Malformed($"storage '{key}' has a negative size");

        var storage = new StorageReference(key, type.StorageDType, elementCount);
        if (_storages.TryGetValue(key, out var known))
        {
            if (known != storage)
                throw Malformed($"storage '{key}' is described twice with different types or sizes");
            return known;
        }
        _storages[key] = storage;
        return storage;
    }

    private OrderedDictionary<object, object?> ToDictionary(List<object?> items)
    {
        var dictionary = new OrderedDictionary<object, object?>();
        SetItems(dictionary, items);
        return dictionary;
    }

    private void SetItem(object? target, object? key, object? value)
    {
        var dictionary = Expect<OrderedDictionary<object, object?>>(target, "SETITEM");
        dictionary[key ?? throw Malformed("a dictionary key is None")] = value;
    }

    private void SetItems(object? target, List<object?> items)
    {
        if (items.Count % 2 != 0)
            throw Malformed("SETITEMS has an odd number of items");
        for (var i = 0; i < items.Count; i += 2)
            SetItem(target, items[i], items[i + 1]);
    }

    private long[] ToLongs(object? value, string what) =>
        Expect<object?[]>(value, what).Select(item => Expect<long>(item, what)).ToArray();

    private object? MemoGet(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Malformed($"memo entry {index} is read before it is written");

    private T Expect<T>(object? value, string what) =>
        value is T typed ? typed : throw Malformed($"{what} expected {typeof(T).Name} but found {Describe(value)}");

    private static string Describe(object? value) => value?.GetType().Name ?? "None";

    private void Push(object? value) => _stack.Add(value);

    private object? Peek() => _stack.Count > MarkFloor() ? _stack[^1] : throw Malformed("the stack is empty");

    private object? Pop()
    {
        var value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private int MarkFloor() => _marks.Count > 0 ? _marks.Peek() : 0;

    private List<object?> PopToMark()
    {
        if (_marks.Count == 0)
            throw Malformed("an opcode needs a MARK but none is open");
        var start = _marks.Pop();
        var items = _stack.GetRange(start, _stack.Count - start);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private byte ReadByte() => ReadBytes(1)[0];

    private ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || count > _pickle.Length - _position)
            throw Malformed($"the pickle ends unexpectedly at offset {_position}");
        var bytes = _pickle.AsSpan(_position, count);
        _position += count;
        return bytes;
    }

    private int ReadLength(int width)
    {
        var length = width == 4
            ? BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))
            : BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8));
        return length <= (ulong)(_pickle.Length - _position)
            ? (int)length
            : throw Malformed($"a length of {length} at offset {_position - width} runs past the end of the pickle");
    }

    private long ReadLong(int byteCount)
    {
        if (byteCount > 8)
            throw Malformed($"an integer of {byteCount} bytes is too large for a tensor description");
        var bytes = ReadBytes(byteCount);
        long value = 0;
        for (var i = byteCount - 1; i >= 0; i--)
            value = (value << 8) | bytes[i];
        if (byteCount is > 0 and < 8 && (bytes[byteCount - 1] & 0x80) != 0)
            value -= 1L << (8 * byteCount);
        return value;
    }

    private string ReadUtf8(int length)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(ReadBytes(length));
        }
        catch (DecoderFallbackException)
        {
            throw Malformed($"a string before offset {_position} is not valid UTF-8");
        }
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(_pickle, (byte)'\n', _position);
        if (end < 0)
            throw Malformed($"the pickle ends inside a GLOBAL name at offset {_position}");
        var line = Encoding.ASCII.GetString(_pickle, _position, end - _position);
        _position = end + 1;
        return line;
    }

    private CheckpointFormatException Unsupported(string opcode, int offset) =>
        Malformed($"pickle opcode {opcode} at offset {offset} is not one torch.save writes for a state dict");

    private CheckpointFormatException Malformed(string problem) =>
        new($"'{_source}' is not a valid torch checkpoint: {problem}");
}
