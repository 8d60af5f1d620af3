namespace VqaPipeline.Ml.Onnx;

/// <summary>
/// Structural checks in the spirit of <c>onnx.checker.check_model</c> (which needs Python): IR version and opset
/// imports, operator domains (ai.onnx and com.microsoft only: no custom operators), names in single assignment, nodes
/// in topological order, every input defined, initializers whose data fits their shape, typed graph inputs and outputs,
/// well-formed attributes. Operator schemas (attribute names, input counts) are left to ONNX Runtime, which checks
/// them when it loads the model.
/// </summary>
public static class OnnxModelChecker
{
    /// <summary>The operator domains a model may use: standard ONNX and ONNX Runtime's contrib operators.</summary>
    public static IReadOnlySet<string> AllowedDomains { get; } =
        new HashSet<string>(StringComparer.Ordinal) { "", OnnxDomains.Standard, OnnxDomains.Microsoft };

    /// <summary>Every problem found, one sentence each; empty when the model is well formed.</summary>
    public static IReadOnlyList<string> Problems(OnnxModel model)
    {
        var problems = new List<string>();
        if (model.IrVersion is < 3 or > 11) problems.Add($"ir_version {model.IrVersion} is not one ONNX defines (3 to 11)");
        if (model.StandardOpset == 0) problems.Add("no opset_import for the standard domain");

        var imported = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var opset in model.OpsetImports)
        {
            var domain = Normalize(opset.Domain);
            if (!imported.TryAdd(domain, opset.Version)) problems.Add($"domain '{opset.Domain}' is imported twice");
            if (!AllowedDomains.Contains(opset.Domain)) problems.Add($"opset_import names the custom domain '{opset.Domain}'");
        }

        var graph = model.Graph;
        var defined = new HashSet<string>(StringComparer.Ordinal);
        void Define(string name, string what)
        {
            if (string.IsNullOrEmpty(name)) problems.Add($"{what} has an empty name");
            else if (!defined.Add(name)) problems.Add($"'{name}' is defined twice (by {what})");
        }

        foreach (var input in graph.Inputs)
        {
            Define(input.Name, "a graph input");
            CheckType(input, "graph input", problems);
        }
        foreach (var tensor in graph.Initializers)
        {
            // IR 4+ lets an initializer double as a graph input's default value.
            if (!graph.Inputs.Any(i => i.Name == tensor.Name)) Define(tensor.Name, "an initializer");
            CheckTensor(tensor, $"initializer '{tensor.Name}'", problems);
        }

        foreach (var node in graph.Nodes)
        {
            var where = $"node '{node.Name}' ({node.Domain}{(node.Domain.Length > 0 ? "." : "")}{node.OpType})";
            if (string.IsNullOrEmpty(node.OpType)) problems.Add($"{where} has no op_type");
            if (!AllowedDomains.Contains(node.Domain)) problems.Add($"{where} uses the custom domain '{node.Domain}'");
            else if (!imported.ContainsKey(Normalize(node.Domain))) problems.Add($"{where} uses domain '{node.Domain}', which is not imported");
            foreach (var input in node.Inputs)
                if (input.Length > 0 && !defined.Contains(input))
                    problems.Add($"{where} reads '{input}', which no earlier node, input or initializer defines");
            if (node.Outputs.Count == 0) problems.Add($"{where} has no outputs");
            foreach (var output in node.Outputs)
                if (output.Length > 0) Define(output, where);
            foreach (var attribute in node.Attributes) CheckAttribute(attribute, where, problems);
        }

        if (graph.Outputs.Count == 0) problems.Add("the graph has no outputs");
        foreach (var output in graph.Outputs)
        {
            if (!defined.Contains(output.Name)) problems.Add($"graph output '{output.Name}' is never computed");
            CheckType(output, "graph output", problems);
        }
        return problems;
    }

    /// <summary>Throws when <see cref="Problems"/> finds any, naming the first few.</summary>
    /// <exception cref="OnnxModelException">The model is not well formed.</exception>
    public static void Check(OnnxModel model, string source)
    {
        var problems = Problems(model);
        if (problems.Count > 0)
            throw new OnnxModelException(
                $"'{source}' is not a well-formed ONNX model: {string.Join("; ", problems.Take(3))}" +
                (problems.Count > 3 ? $" (and {problems.Count - 3} more)" : ""));
    }

    private static string Normalize(string domain) => domain == OnnxDomains.Standard ? "" : domain;

    private static void CheckType(OnnxValueInfo info, string what, List<string> problems)
    {
        if (info.ElementType == OnnxDataType.Undefined || !Enum.IsDefined(info.ElementType))
            problems.Add($"{what} '{info.Name}' has no valid element type");
        if (info.Shape is { } shape)
            foreach (var dim in shape)
                if (dim.Value is < 0 || (dim.Value is null && dim.Parameter is null))
                    problems.Add($"{what} '{info.Name}' has a malformed dimension '{dim}'");
    }

    private static void CheckTensor(OnnxTensor tensor, string what, List<string> problems)
    {
        if (tensor.DataType == OnnxDataType.Undefined || !Enum.IsDefined(tensor.DataType))
        {
            problems.Add($"{what} has no valid data type");
            return;
        }
        if (tensor.Dims.Any(d => d < 0))
        {
            problems.Add($"{what} has a negative dimension");
            return;
        }
        var size = OnnxDataTypes.ElementSize(tensor.DataType);
        if (size > 0 && tensor.RawData.Length != tensor.ElementCount * size)
            problems.Add($"{what} holds {tensor.RawData.Length} bytes for {tensor.ElementCount} {tensor.DataType} elements");
    }

    private static void CheckAttribute(OnnxAttribute attribute, string where, List<string> problems)
    {
        if (string.IsNullOrEmpty(attribute.Name)) problems.Add($"{where} has an attribute without a name");
        switch (attribute.Type)
        {
            case OnnxAttributeType.Float or OnnxAttributeType.Int or OnnxAttributeType.Floats or OnnxAttributeType.Ints
                or OnnxAttributeType.Strings:
                break;
            case OnnxAttributeType.String when attribute.String is null:
                problems.Add($"{where}: string attribute '{attribute.Name}' has no value");
                break;
            case OnnxAttributeType.Tensor when attribute.Tensor is null:
                problems.Add($"{where}: tensor attribute '{attribute.Name}' has no tensor");
                break;
            case OnnxAttributeType.Tensor:
                CheckTensor(attribute.Tensor!, $"{where}: attribute '{attribute.Name}'", problems);
                break;
            case OnnxAttributeType.String:
                break;
            default:
                problems.Add($"{where}: attribute '{attribute.Name}' has type {attribute.Type}, which an inference graph does not use");
                break;
        }
    }
}
