using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// The tensors of a checkpoint by name, in file order. Disposing releases the file mappings the tensors' bytes may
/// point into; read or convert the tensors before that.
/// </summary>
public sealed class StateDict : IReadOnlyDictionary<string, CheckpointTensor>, IDisposable
{
    private readonly Dictionary<string, CheckpointTensor> _byName;
    private readonly List<string> _order;
    private readonly IReadOnlyList<IDisposable> _owned;

    /// <summary>A state dict over tensors that own their bytes.</summary>
    public StateDict(IEnumerable<CheckpointTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        : this(tensors, metadata ?? new Dictionary<string, string>(), [])
    {
    }

    internal StateDict(
        IEnumerable<CheckpointTensor> tensors, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<IDisposable> owned)
    {
        _byName = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        _order = [];
        foreach (var tensor in tensors)
        {
            if (!_byName.TryAdd(tensor.Name, tensor))
                throw new ArgumentException($"Tensor '{tensor.Name}' appears twice", nameof(tensors));
            _order.Add(tensor.Name);
        }
        Metadata = metadata;
        _owned = owned;
    }

    /// <summary>Free-form string metadata (a safetensors <c>__metadata__</c>, e.g. <c>format: pt</c>).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public CheckpointTensor this[string key] => _byName[key];

    public IEnumerable<string> Keys => _order;

    public IEnumerable<CheckpointTensor> Values => _order.Select(name => _byName[name]);

    public int Count => _order.Count;

    public bool ContainsKey(string key) => _byName.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out CheckpointTensor value) =>
        _byName.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, CheckpointTensor>> GetEnumerator() =>
        _order.Select(name => KeyValuePair.Create(name, _byName[name])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var owned in _owned)
            owned.Dispose();
    }
}
