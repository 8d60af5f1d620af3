// The part of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto) that an
// inference graph needs, as plain records. OnnxProtobuf turns them into the file format and back.
using System.Buffers;
using System.Runtime.InteropServices;

namespace VqaPipeline.Ml.Onnx;

/// <summary>The model file is not valid ONNX, or not the graph this program expects.</summary>
public sealed class OnnxModelException(string message, Exception? inner = null) : VqaPipelineException(message, inner);

/// <summary><c>TensorProto.DataType</c> values this program reads and writes.</summary>
public enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    BFloat16 = 16,
}

/// <summary>Bytes per element of the fixed-width types (0 for strings and unknown types).</summary>
public static class OnnxDataTypes
{
    public static int ElementSize(OnnxDataType type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
        OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool => 1,
        OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => 2,
        OnnxDataType.Int64 or OnnxDataType.Double or OnnxDataType.UInt64 => 8,
        _ => 0,
    };
}

/// <summary>A constant tensor (an initializer or a tensor attribute), its elements little-endian in <see cref="RawData"/>.</summary>
public sealed record OnnxTensor(string Name, OnnxDataType DataType, long[] Dims, ReadOnlyMemory<byte> RawData)
{
    public long ElementCount => Dims.Aggregate(1L, (product, dim) => product * dim);

    /// <summary>A float tensor over <paramref name="values"/> (not copied: the array must not change afterwards).</summary>
    public static OnnxTensor FromFloats(string name, float[] values, params long[] dims) =>
        new(name, OnnxDataType.Float, dims, new ArrayBytes<float>(values).Memory);

    public static OnnxTensor FromInt64s(string name, long[] values, params long[] dims) =>
        new(name, OnnxDataType.Int64, dims, new ArrayBytes<long>(values).Memory);

    public static OnnxTensor FromInt8s(string name, sbyte[] values, params long[] dims) =>
        new(name, OnnxDataType.Int8, dims, new ArrayBytes<sbyte>(values).Memory);

    /// <summary>The elements of a float tensor (a copy).</summary>
    public float[] ToFloats() => DataType == OnnxDataType.Float
        ? MemoryMarshal.Cast<byte, float>(RawData.Span).ToArray()
        : throw new InvalidOperationException($"tensor '{Name}' is {DataType}, not Float");

    /// <summary>The elements of an int64 tensor (a copy).</summary>
    public long[] ToInt64s() => DataType == OnnxDataType.Int64
        ? MemoryMarshal.Cast<byte, long>(RawData.Span).ToArray()
        : throw new InvalidOperationException($"tensor '{Name}' is {DataType}, not Int64");
}

/// <summary>
/// The bytes of a numeric array as <see cref="Memory{T}"/> without a copy, so that a model's weights are not held twice
/// while it is written (ViLT-B/32 has 470 MB of them).
/// </summary>
internal sealed class ArrayBytes<T>(T[] values) : MemoryManager<byte> where T : unmanaged
{
    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(values.AsSpan());

    /// <summary>Each pin has a handle of its own, freed when its <see cref="MemoryHandle"/> is disposed.</summary>
    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
        return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + elementIndex, handle, this);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}

/// <summary>One dimension of a declared shape: a fixed size or a named (dynamic) one.</summary>
public sealed record OnnxDimension(long? Value, string? Parameter)
{
    public static implicit operator OnnxDimension(long value) => new(value, null);
    public static implicit operator OnnxDimension(string parameter) => new(null, parameter);

    public override string ToString() => Parameter ?? Value?.ToString() ?? "?";
}

/// <summary>A graph input or output: name, element type and (optionally) shape.</summary>
public sealed record OnnxValueInfo(string Name, OnnxDataType ElementType, IReadOnlyList<OnnxDimension>? Shape);

/// <summary><c>AttributeProto.AttributeType</c> values this program reads and writes.</summary>
public enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
}

/// <summary>A node attribute; exactly the field its <see cref="Type"/> names is set.</summary>
public sealed record OnnxAttribute(string Name, OnnxAttributeType Type)
{
    public float Float { get; init; }
    public long Int { get; init; }
    public string? String { get; init; }
    public OnnxTensor? Tensor { get; init; }
    public float[] Floats { get; init; } = [];
    public long[] Ints { get; init; } = [];
    public string[] Strings { get; init; } = [];

    public static OnnxAttribute Of(string name, long value) => new(name, OnnxAttributeType.Int) { Int = value };
    public static OnnxAttribute Of(string name, float value) => new(name, OnnxAttributeType.Float) { Float = value };
    public static OnnxAttribute Of(string name, string value) => new(name, OnnxAttributeType.String) { String = value };
    public static OnnxAttribute Of(string name, long[] values) => new(name, OnnxAttributeType.Ints) { Ints = values };
    public static OnnxAttribute Of(string name, OnnxTensor value) => new(name, OnnxAttributeType.Tensor) { Tensor = value };
}

/// <summary>One operator application. An empty input name stands for an omitted optional input.</summary>
public sealed record OnnxNode(
    string OpType, string Domain, string Name, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs,
    IReadOnlyList<OnnxAttribute> Attributes);

/// <summary>A graph: nodes in topological order, constant initializers, declared inputs and outputs.</summary>
public sealed record OnnxGraph(
    string Name, IReadOnlyList<OnnxNode> Nodes, IReadOnlyList<OnnxTensor> Initializers,
    IReadOnlyList<OnnxValueInfo> Inputs, IReadOnlyList<OnnxValueInfo> Outputs);

/// <summary>An operator set the model's nodes bind to (domain "" is the standard ai.onnx set).</summary>
public sealed record OnnxOpsetImport(string Domain, long Version);

/// <summary>A whole model file (<c>ModelProto</c>).</summary>
public sealed record OnnxModel(
    long IrVersion, IReadOnlyList<OnnxOpsetImport> OpsetImports, string ProducerName, string ProducerVersion,
    OnnxGraph Graph, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The standard operator set version (domain "" or "ai.onnx"), 0 if none is imported.</summary>
    public long StandardOpset =>
        OpsetImports.FirstOrDefault(o => o.Domain is "" or OnnxDomains.Standard)?.Version ?? 0;
}

/// <summary>Operator domains.</summary>
public static class OnnxDomains
{
    public const string Standard = "ai.onnx";
    public const string Microsoft = "com.microsoft";
}
