namespace VqaPipeline.Ml.Onnx;

/// <summary>
/// Builds an ONNX graph node by node: every method adds what it names and returns the name of the value it produced,
/// so model code reads like the forward pass it exports. Values are named after the module being exported
/// (<see cref="Scope"/>) so that a graph viewer shows the Hugging Face module tree.
/// </summary>
public sealed class OnnxGraphBuilder
{
    private readonly List<OnnxNode> nodes = [];
    private readonly List<OnnxTensor> initializers = [];
    private readonly List<OnnxValueInfo> inputs = [];
    private readonly List<OnnxValueInfo> outputs = [];
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> constants = new(StringComparer.Ordinal);
    private int counter;

    /// <summary>Prefix of the names given to the nodes and values added next (a module path like <c>vilt.encoder.layer.3</c>).</summary>
    public string Scope { get; set; } = "";

    /// <summary>Operator domains the nodes used, for the model's opset imports.</summary>
    public ISet<string> DomainsUsed { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Declares a graph input.</summary>
    public string Input(string name, OnnxDataType type, params OnnxDimension[] shape)
    {
        Claim(name);
        inputs.Add(new OnnxValueInfo(name, type, shape));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> a graph output under the name <paramref name="name"/>.</summary>
    public void Output(string value, string name, OnnxDataType type, params OnnxDimension[] shape)
    {
        if (value != name) Op("Identity", [value], [], outputName: name);
        outputs.Add(new OnnxValueInfo(name, type, shape));
    }

    /// <summary>Adds a weight under its tensor name (made unique if taken); returns the name used.</summary>
    public string Initializer(OnnxTensor tensor)
    {
        var name = Unique(tensor.Name);
        initializers.Add(tensor with { Name = name });
        return name;
    }

    /// <summary>A float weight of the given shape.</summary>
    public string Initializer(string name, float[] values, params long[] dims) =>
        Initializer(OnnxTensor.FromFloats(name, values, dims));

    /// <summary>An int64 constant (a shape, axes, indices), shared by every use of the same values.</summary>
    public string Int64s(params long[] values) => Shared($"i64[{string.Join(',', values)}]",
        () => OnnxTensor.FromInt64s("const_i64", values, values.Length));

    /// <summary>An int64 scalar constant (rank 0).</summary>
    public string Int64Scalar(long value) => Shared($"i64 {value}", () => OnnxTensor.FromInt64s("const_i64", [value]));

    /// <summary>A float scalar constant (rank 0), shared by every use of the same value.</summary>
    public string FloatScalar(float value) => Shared($"f32 {value:R}", () => OnnxTensor.FromFloats("const_f32", [value]));

    /// <summary>Adds a node with one output; returns the output's name.</summary>
    public string Op(string opType, IReadOnlyList<string> nodeInputs, IReadOnlyList<OnnxAttribute>? attributes = null,
        string domain = "", string? outputName = null) =>
        Ops(opType, 1, nodeInputs, attributes, domain, outputName is null ? null : [outputName])[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs; returns their names.</summary>
    public string[] Ops(string opType, int outputCount, IReadOnlyList<string> nodeInputs,
        IReadOnlyList<OnnxAttribute>? attributes = null, string domain = "", IReadOnlyList<string>? outputNames = null)
    {
        var nodeName = Unique(string.IsNullOrEmpty(Scope) ? opType : $"{Scope}/{opType}");
        var produced = outputNames is { } given
            ? given.Select(n => { Claim(n); return n; }).ToArray()
            : Enumerable.Range(0, outputCount).Select(i => Unique($"{nodeName}:{i}")).ToArray();
        nodes.Add(new OnnxNode(opType, domain, nodeName, nodeInputs.ToArray(), produced, attributes?.ToArray() ?? []));
        DomainsUsed.Add(domain);
        return produced;
    }

    // Element-wise and shape operators used often enough to deserve a name of their own.
    public string Add(string a, string b) => Op("Add", [a, b]);
    public string Sub(string a, string b) => Op("Sub", [a, b]);
    public string Mul(string a, string b) => Op("Mul", [a, b]);
    public string Div(string a, string b) => Op("Div", [a, b]);
    public string MatMul(string a, string b) => Op("MatMul", [a, b]);
    public string Cast(string x, OnnxDataType to) => Op("Cast", [x], [OnnxAttribute.Of("to", (long)to)]);
    public string Concat(int axis, params string[] parts) => Op("Concat", parts, [OnnxAttribute.Of("axis", (long)axis)]);
    public string Reshape(string x, params long[] shape) => Op("Reshape", [x, Int64s(shape)]);
    public string Unsqueeze(string x, params long[] axes) => Op("Unsqueeze", [x, Int64s(axes)]);
    public string Squeeze(string x, params long[] axes) => Op("Squeeze", [x, Int64s(axes)]);
    public string Transpose(string x, params long[] perm) => Op("Transpose", [x], [OnnxAttribute.Of("perm", perm)]);

    /// <summary><c>x</c> indexed by the constant <paramref name="index"/> along <paramref name="axis"/> (that axis dropped).</summary>
    public string Select(string x, long index, int axis) =>
        Op("Gather", [x, Int64Scalar(index)], [OnnxAttribute.Of("axis", (long)axis)]);

    /// <summary>Dimensions <paramref name="start"/> to <paramref name="end"/> (exclusive; null = to the last) of x's shape, as an int64 vector.</summary>
    public string Shape(string x, long start, long? end = null) =>
        Op("Shape", [x], end is long e
            ? [OnnxAttribute.Of("start", start), OnnxAttribute.Of("end", e)]
            : [OnnxAttribute.Of("start", start)]);

    /// <summary>The graph built so far.</summary>
    public OnnxGraph Build(string name) => new(name, nodes.ToArray(), initializers.ToArray(), inputs.ToArray(), outputs.ToArray());

    private string Shared(string key, Func<OnnxTensor> create)
    {
        if (!constants.TryGetValue(key, out var name))
            constants[key] = name = Initializer(create());
        return name;
    }

    private string Unique(string name)
    {
        var candidate = name;
        while (names.Contains(candidate)) candidate = $"{name}_{++counter}";
        names.Add(candidate);
        return candidate;
    }

    private void Claim(string name)
    {
        if (!names.Add(name)) throw new InvalidOperationException($"ONNX value name '{name}' is already used.");
    }
}
