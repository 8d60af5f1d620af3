// ModelProto in and out, field numbers as in onnx/onnx.proto. Writing goes through Google.Protobuf's encoder; each
// message is described once (Emit*) and that description both measures it (for the length prefix) and writes it.
// Reading walks the bytes in place, so a 500 MB file is not copied once per nesting level.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;

namespace VqaPipeline.Ml.Onnx;

/// <summary>Reads and writes ONNX model files.</summary>
public static class OnnxProtobuf
{
    /// <summary>Protobuf messages are limited to 2 GiB; larger models need external data, which this writer does not do.</summary>
    public const long MaxModelBytes = int.MaxValue;

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>; returns the number of bytes written.</summary>
    public static long Write(OnnxModel model, string path)
    {
        using var file = File.Create(path);
        return Write(model, file);
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="stream"/>; returns the number of bytes written.</summary>
    /// <exception cref="OnnxModelException">The model is over protobuf's 2 GiB limit.</exception>
    public static long Write(OnnxModel model, Stream stream)
    {
        var size = ProtoSize.Of(sink => EmitModel(sink, model));
        if (size > MaxModelBytes)
            throw new OnnxModelException(
                $"the model needs {size / (1 << 20)} MiB, over protobuf's 2 GiB limit (external tensor data is not supported).");
        using var output = new CodedOutputStream(stream, leaveOpen: true);
        EmitModel(new ProtoWriter(output), model);
        output.Flush();
        return size;
    }

    /// <summary>Serializes <paramref name="model"/> into memory.</summary>
    public static byte[] ToBytes(OnnxModel model)
    {
        using var memory = new MemoryStream();
        Write(model, memory);
        return memory.ToArray();
    }

    /// <summary>Reads an ONNX model file.</summary>
    /// <exception cref="OnnxModelException">The file is not a well-formed ModelProto (truncated, or not ONNX).</exception>
    public static OnnxModel Read(string path) => Read(File.ReadAllBytes(path), path);

    /// <summary>Parses ModelProto bytes; <paramref name="source"/> names them in error messages.</summary>
    public static OnnxModel Read(ReadOnlyMemory<byte> bytes, string source = "model")
    {
        try
        {
            var model = ReadModel(new ProtoReader(bytes));
            if (model.Graph.Nodes.Count == 0 && model.OpsetImports.Count == 0)
                throw new OnnxModelException($"'{source}' holds no ONNX graph.");
            return model;
        }
        catch (ProtoFormatException error)
        {
            throw new OnnxModelException($"'{source}' is not a valid ONNX file ({error.Message}); it may be truncated.", error);
        }
    }

    // ---- writing ----

    private static void EmitModel(IProtoSink sink, OnnxModel model)
    {
        sink.Varint(1, model.IrVersion);
        sink.String(2, model.ProducerName);
        sink.String(3, model.ProducerVersion);
        sink.Message(7, s => EmitGraph(s, model.Graph));
        foreach (var opset in model.OpsetImports)
            sink.Message(8, s =>
            {
                s.String(1, opset.Domain);
                s.Varint(2, opset.Version);
            });
        foreach (var (key, value) in model.Metadata)
            sink.Message(14, s =>
            {
                s.String(1, key);
                s.String(2, value);
            });
    }

    private static void EmitGraph(IProtoSink sink, OnnxGraph graph)
    {
        foreach (var node in graph.Nodes) sink.Message(1, s => EmitNode(s, node));
        sink.String(2, graph.Name);
        foreach (var tensor in graph.Initializers) sink.Message(5, s => EmitTensor(s, tensor));
        foreach (var input in graph.Inputs) sink.Message(11, s => EmitValueInfo(s, input));
        foreach (var output in graph.Outputs) sink.Message(12, s => EmitValueInfo(s, output));
    }

    private static void EmitNode(IProtoSink sink, OnnxNode node)
    {
        foreach (var input in node.Inputs) sink.String(1, input, always: true);
        foreach (var output in node.Outputs) sink.String(2, output, always: true);
        sink.String(3, node.Name);
        sink.String(4, node.OpType);
        foreach (var attribute in node.Attributes) sink.Message(5, s => EmitAttribute(s, attribute));
        sink.String(7, node.Domain);
    }

    private static void EmitAttribute(IProtoSink sink, OnnxAttribute attribute)
    {
        sink.String(1, attribute.Name);
        switch (attribute.Type)
        {
            case OnnxAttributeType.Float: sink.Float(2, attribute.Float); break;
            case OnnxAttributeType.Int: sink.Varint(3, attribute.Int); break;
            case OnnxAttributeType.String: sink.Bytes(4, Encoding.UTF8.GetBytes(attribute.String ?? "")); break;
            case OnnxAttributeType.Tensor: sink.Message(5, s => EmitTensor(s, attribute.Tensor!)); break;
            case OnnxAttributeType.Floats: sink.PackedFloats(7, attribute.Floats); break;
            case OnnxAttributeType.Ints: sink.PackedVarints(8, attribute.Ints); break;
            case OnnxAttributeType.Strings:
                foreach (var value in attribute.Strings) sink.Bytes(9, Encoding.UTF8.GetBytes(value));
                break;
            default: throw new OnnxModelException($"attribute '{attribute.Name}' of type {attribute.Type} cannot be written.");
        }
        sink.Varint(20, (long)attribute.Type);
    }

    private static void EmitTensor(IProtoSink sink, OnnxTensor tensor)
    {
        sink.PackedVarints(1, tensor.Dims);
        sink.Varint(2, (long)tensor.DataType);
        sink.String(8, tensor.Name);
        sink.Bytes(9, tensor.RawData);
    }

    private static void EmitValueInfo(IProtoSink sink, OnnxValueInfo info)
    {
        sink.String(1, info.Name);
        sink.Message(2, type => type.Message(1, tensorType =>
        {
            tensorType.Varint(1, (long)info.ElementType);
            if (info.Shape is { } shape)
                tensorType.Message(2, s =>
                {
                    foreach (var dim in shape)
                        s.Message(1, d =>
                        {
                            if (dim.Value is long value) d.Varint(1, value);
                            else d.String(2, dim.Parameter ?? "", always: true);
                        });
                });
        }));
    }

    // ---- reading ----

    private static OnnxModel ReadModel(ProtoReader reader)
    {
        long irVersion = 0;
        string producer = "", producerVersion = "";
        OnnxGraph? graph = null;
        var opsets = new List<OnnxOpsetImport>();
        var metadata = new Dictionary<string, string>();
        while (reader.Next(out var field, out var wire))
            switch (field)
            {
                case 1: irVersion = reader.Varint(wire); break;
                case 2: producer = reader.String(wire); break;
                case 3: producerVersion = reader.String(wire); break;
                case 7: graph = ReadGraph(reader.Message(wire)); break;
                case 8: opsets.Add(ReadOpset(reader.Message(wire))); break;
                case 14:
                    var (key, value) = ReadStringPair(reader.Message(wire));
                    metadata[key] = value;
                    break;
                default: reader.Skip(wire); break;
            }
        return new OnnxModel(irVersion, opsets, producer, producerVersion,
            graph ?? new OnnxGraph("", [], [], [], []), metadata);
    }

    private static OnnxOpsetImport ReadOpset(ProtoReader reader)
    {
        string domain = "";
        long version = 0;
        while (reader.Next(out var field, out var wire))
            switch (field)
            {
                case 1: domain = reader.String(wire); break;
                case 2: version = reader.Varint(wire); break;
                default: reader.Skip(wire); break;
            }
        return new OnnxOpsetImport(domain, version);
    }

    private static (string Key, string Value) ReadStringPair(ProtoReader reader)
    {
        string key = "", value = "";
        while (reader.Next(out var field, out var wire))
            switch (field)
            {
                case 1: key = reader.String(wire); break;
                case 2: value = reader.String(wire); break;
                default: reader.Skip(wire); break;
            }
        return (key, value);
    }

    private static OnnxGraph ReadGraph(ProtoReader reader)
    {
        string name = "";
        var nodes = new List<OnnxNode>();
        var initializers = new List<OnnxTensor>();
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        while (reader.Next(out var field, out var wire))
            switch (field)
            {
                case 1: nodes.Add(ReadNode(reader.Message(wire))); break;
                case 2: name = reader.String(wire); break;
                case 5: initializers.Add(ReadTensor(reader.Message(wire))); break;
                case 11: inputs.Add(ReadValueInfo(reader.Message(wire))); break;
                case 12: outputs.Add(ReadValueInfo(reader.Message(wire))); break;
                default: reader.Skip(wire); break;
            }
        return new OnnxGraph(name, nodes, initializers, inputs, outputs);
    }

    private static OnnxNode ReadNode(ProtoReader reader)
    {
        string name = "", opType = "", domain = "";
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new List<OnnxAttribute>();
        while (reader.Next(out var field, out var wire))
            switch (field)
            {
                case 1: inputs.Add(reader.String(wire)); break;
                case 2: outputs.Add(reader.String(wire)); break;
                case 3: name = reader.String(wire); break;
                case 4: opType = reader.String(wire); break;
                case 5: attributes.Add(ReadAttribute(reader.Message(wire))); break;
                case 7: domain = reader.String(wire); break;
                default: reader.Skip(wire); break;
            }
        return new OnnxNode(opType, domain, name, inputs, outputs, attributes);
    }

    private static OnnxAttribute ReadAttribute(ProtoReader reader)
    {
        string name = "";
        var type = OnnxAttributeType.Undefined;
        float single = 0;
        long integer = 0;
        string? text = null;
        OnnxTensor? tensor = null;
        var floats = new List<float>();
        var ints = new List<long>();
        var strings = new List<string>();
        while (reader.Next(out var field, out var wire))
            switch (field)
            {
                case 1: name = reader.String(wire); break;
                case 2: single = reader.Float(wire); break;
                case 3: integer = reader.Varint(wire); break;
                case 4: text = reader.String(wire); break;
                case 5: tensor = ReadTensor(reader.Message(wire)); break;
                case 7: reader.Floats(wire, floats); break;
                case 8: reader.Varints(wire, ints); break;
                case 9: strings.Add(reader.String(wire)); break;
                case 20: type = (OnnxAttributeType)reader.Varint(wire); break;
                default: reader.Skip(wire); break;
            }
        return new OnnxAttribute(name, type)
        {
            Float = single, Int = integer, String = text, Tensor = tensor,
            Floats = floats.ToArray(), Ints = ints.ToArray(), Strings = strings.ToArray(),
        };
    }

    private static OnnxTensor ReadTensor(ProtoReader reader)
    {
        string name = "";
        var type = OnnxDataType.Undefined;
        var dims = new List<long>();
        ReadOnlyMemory<byte> raw = default;
        var floats = new List<float>();
        var int32s = new List<long>();
        var int64s = new List<long>();
        while (reader.Next(out var field, out var wire))
            switch (field)
            {
                case 1: reader.Varints(wire, dims); break;
                case 2: type = (OnnxDataType)reader.Varint(wire); break;
                case 4: reader.Floats(wire, floats); break;
                case 5: reader.Varints(wire, int32s); break;
                case 7: reader.Varints(wire, int64s); break;
                case 8: name = reader.String(wire); break;
                case 9: raw = reader.Bytes(wire); break;
                case 13: throw new ProtoFormatException($"tensor '{name}' keeps its data in an external file, which is not supported");
                default: reader.Skip(wire); break;
            }
        // Writers may use the typed fields instead of raw_data (ONNX Runtime does for small tensors).
        if (raw.IsEmpty && floats.Count > 0) raw = MemoryMarshal.AsBytes(floats.ToArray().AsSpan()).ToArray();
        if (raw.IsEmpty && int64s.Count > 0) raw = MemoryMarshal.AsBytes(int64s.ToArray().AsSpan()).ToArray();
        if (raw.IsEmpty && int32s.Count > 0) raw = Int32FieldToRaw(type, int32s);
        return new OnnxTensor(name, type, dims.ToArray(), raw);
    }

    /// <summary>int32_data holds every narrow integer type (and float16 bits) one element per varint.</summary>
    private static byte[] Int32FieldToRaw(OnnxDataType type, List<long> values)
    {
        var size = OnnxDataTypes.ElementSize(type);
        var raw = new byte[values.Count * size];
        for (var i = 0; i < values.Count; i++)
            switch (size)
            {
                case 1: raw[i] = (byte)values[i]; break;
                case 2: BinaryPrimitives.WriteInt16LittleEndian(raw.AsSpan(i * 2), (short)values[i]); break;
                default: BinaryPrimitives.WriteInt32LittleEndian(raw.AsSpan(i * 4), (int)values[i]); break;
            }
        return raw;
    }

    private static OnnxValueInfo ReadValueInfo(ProtoReader reader)
    {
        string name = "";
        var elementType = OnnxDataType.Undefined;
        List<OnnxDimension>? shape = null;
        while (reader.Next(out var field, out var wire))
        {
            if (field == 1) { name = reader.String(wire); continue; }
            if (field != 2) { reader.Skip(wire); continue; }
            var type = reader.Message(wire);
            while (type.Next(out var typeField, out var typeWire))
            {
                if (typeField != 1) { type.Skip(typeWire); continue; }
                var tensorType = type.Message(typeWire);
                while (tensorType.Next(out var tensorField, out var tensorWire))
                    switch (tensorField)
                    {
                        case 1: elementType = (OnnxDataType)tensorType.Varint(tensorWire); break;
                        case 2: shape = ReadShape(tensorType.Message(tensorWire)); break;
                        default: tensorType.Skip(tensorWire); break;
                    }
            }
        }
        return new OnnxValueInfo(name, elementType, shape);
    }

    private static List<OnnxDimension> ReadShape(ProtoReader reader)
    {
        var dims = new List<OnnxDimension>();
        while (reader.Next(out var field, out var wire))
        {
            if (field != 1) { reader.Skip(wire); continue; }
            var dimension = reader.Message(wire);
            OnnxDimension dim = new(null, null);
            while (dimension.Next(out var dimField, out var dimWire))
                switch (dimField)
                {
                    case 1: dim = dimension.Varint(dimWire); break;
                    case 2: dim = dimension.String(dimWire); break;
                    default: dimension.Skip(dimWire); break;
                }
            dims.Add(dim);
        }
        return dims;
    }
}

/// <summary>A malformed protobuf stream.</summary>
internal sealed class ProtoFormatException(string message) : Exception(message);

/// <summary>Receives a message's fields: either measures them or writes them.</summary>
internal interface IProtoSink
{
    void Varint(int field, long value);
    void Float(int field, float value);
    void Bytes(int field, ReadOnlyMemory<byte> value);
    void PackedVarints(int field, IReadOnlyList<long> values);
    void PackedFloats(int field, IReadOnlyList<float> values);
    void Message(int field, Action<IProtoSink> emit);

    /// <summary>Strings are skipped when empty (proto3's default) unless <paramref name="always"/>: repeated fields keep empty entries.</summary>
    void String(int field, string? value, bool always = false)
    {
        if (!string.IsNullOrEmpty(value) || always) Bytes(field, Encoding.UTF8.GetBytes(value ?? ""));
    }
}

/// <summary>Counts the bytes a message will take.</summary>
internal sealed class ProtoSize : IProtoSink
{
    public long Total { get; private set; }

    public static long Of(Action<IProtoSink> emit)
    {
        var size = new ProtoSize();
        emit(size);
        return size.Total;
    }

    public void Varint(int field, long value) => Total += CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeInt64Size(value);

    public void Float(int field, float value) => Total += CodedOutputStream.ComputeTagSize(field) + 4;

    public void Bytes(int field, ReadOnlyMemory<byte> value) => Delimited(field, value.Length);

    public void PackedVarints(int field, IReadOnlyList<long> values)
    {
        if (values.Count > 0) Delimited(field, values.Sum(v => (long)CodedOutputStream.ComputeInt64Size(v)));
    }

    public void PackedFloats(int field, IReadOnlyList<float> values)
    {
        if (values.Count > 0) Delimited(field, 4L * values.Count);
    }

    public void Message(int field, Action<IProtoSink> emit) => Delimited(field, Of(emit));

    private void Delimited(int field, long length) =>
        Total += CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize((int)Math.Min(length, int.MaxValue)) + length;
}

/// <summary>Writes fields with Google.Protobuf's encoder.</summary>
internal sealed class ProtoWriter(CodedOutputStream output) : IProtoSink
{
    public void Varint(int field, long value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt64(value);
    }

    public void Float(int field, float value)
    {
        output.WriteTag(field, WireFormat.WireType.Fixed32);
        output.WriteFloat(value);
    }

    public void Bytes(int field, ReadOnlyMemory<byte> value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
    }

    public void PackedVarints(int field, IReadOnlyList<long> values)
    {
        if (values.Count == 0) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(values.Sum(CodedOutputStream.ComputeInt64Size));
        foreach (var value in values) output.WriteInt64(value);
    }

    public void PackedFloats(int field, IReadOnlyList<float> values)
    {
        if (values.Count == 0) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(4 * values.Count);
        foreach (var value in values) output.WriteFloat(value);
    }

    public void Message(int field, Action<IProtoSink> emit)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength((int)ProtoSize.Of(emit));
        emit(this);
    }
}

/// <summary>Walks one message's fields over a slice of the file's bytes.</summary>
internal sealed class ProtoReader(ReadOnlyMemory<byte> bytes)
{
    private int position;

    private bool AtEnd => position >= bytes.Length;

    /// <summary>Moves to the next field; false at the end of the message.</summary>
    public bool Next(out int field, out int wireType)
    {
        field = wireType = 0;
        if (AtEnd) return false;
        var tag = ReadVarint();
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field <= 0) throw new ProtoFormatException($"invalid field number at byte {position}");
        return true;
    }

    public long Varint(int wireType)
    {
        Expect(wireType, 0);
        return (long)ReadVarint();
    }

    public float Float(int wireType)
    {
        Expect(wireType, 5);
        return BinaryPrimitives.ReadSingleLittleEndian(Take(4).Span);
    }

    public ReadOnlyMemory<byte> Bytes(int wireType)
    {
        Expect(wireType, 2);
        return Take(checked((int)ReadVarint()));
    }

    public string String(int wireType) => Encoding.UTF8.GetString(Bytes(wireType).Span);

    public ProtoReader Message(int wireType) => new(Bytes(wireType));

    /// <summary>A repeated varint field, packed or not.</summary>
    public void Varints(int wireType, List<long> into)
    {
        if (wireType == 0) { into.Add((long)ReadVarint()); return; }
        var packed = new ProtoReader(Bytes(wireType));
        while (!packed.AtEnd) into.Add((long)packed.ReadVarint());
    }

    /// <summary>A repeated float field, packed or not.</summary>
    public void Floats(int wireType, List<float> into)
    {
        if (wireType == 5) { into.Add(Float(wireType)); return; }
        var span = Bytes(wireType).Span;
        if (span.Length % 4 != 0) throw new ProtoFormatException("packed floats of a length not a multiple of 4");
        for (var i = 0; i < span.Length; i += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(span[i..]));
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Take(8); break;
            case 2: Take(checked((int)ReadVarint())); break;
            case 5: Take(4); break;
            default: throw new ProtoFormatException($"unsupported wire type {wireType} at byte {position}");
        }
    }

    private static void Expect(int actual, int expected)
    {
        if (actual != expected) throw new ProtoFormatException($"wire type {actual} where {expected} was expected");
    }

    private ReadOnlyMemory<byte> Take(int count)
    {
        if (count < 0 || count > bytes.Length - position)
            throw new ProtoFormatException($"a field of {count} bytes runs past the end of its message");
        var slice = bytes.Slice(position, count);
        position += count;
        return slice;
    }

    private ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= bytes.Length) throw new ProtoFormatException("a varint runs past the end of its message");
            var b = bytes.Span[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new ProtoFormatException("a varint longer than 10 bytes");
    }
}
