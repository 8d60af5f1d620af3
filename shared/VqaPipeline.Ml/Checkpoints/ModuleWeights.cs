using System.Text.RegularExpressions;
using TorchSharp;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>Copies a <see cref="StateDict"/> into a TorchSharp module the way transformers' <c>from_pretrained</c> does.</summary>
public static class ModuleWeights
{
    /// <summary>
    /// Matches checkpoint keys to <paramref name="module"/>'s state dict (adding or stripping
    /// <see cref="LoadOptions.BaseModelPrefix"/> as transformers does), checks shapes, then copies every matched tensor
    /// into the module under no_grad, converting to each parameter's dtype and device. Nothing is copied when the load
    /// fails. Returns what was missing, unexpected or skipped for its shape.
    /// </summary>
    public static LoadReport Load(torch.nn.Module module, StateDict weights, LoadOptions? options = null)
    {
        options ??= new LoadOptions();
        var moduleState = module.state_dict();
        var keys = new KeyMapping(options.BaseModelPrefix, weights.Keys.ToList(), moduleState.Keys.ToList());
        keys.RejectHeadWeightsWithoutBase();

        var loadedKeys = weights.Keys.ToHashSet(StringComparer.Ordinal);
        var missing = keys.Expected.Keys.Where(key => !loadedKeys.Contains(key)).Order(StringComparer.Ordinal).ToList();
        // Checkpoints may carry buffers the module keeps out of its state dict (position_ids); those are not unexpected.
        // has_buffer is asked because TorchSharp's named_buffers omits non-persistent buffers.
        var unexpected = weights.Keys
            .Where(key => !keys.Expected.ContainsKey(key) && !keys.ToModuleKeys(key).Any(name => IsBuffer(module, name)))
            .Order(StringComparer.Ordinal).ToList();

        var tiedSources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tied, source) in options.TiedWeights)
        {
            var tiedKey = keys.ToCheckpointKey(tied);
            var sourceKey = keys.ToCheckpointKey(source);
            if (missing.Contains(tiedKey) && !missing.Contains(sourceKey) && weights.ContainsKey(sourceKey))
            {
                missing.Remove(tiedKey);
                tiedSources[tiedKey] = sourceKey;
            }
        }
        missing.RemoveAll(key => options.IgnoreMissing.Any(pattern => Regex.IsMatch(key, pattern)));
        unexpected.RemoveAll(key => options.IgnoreUnexpected.Any(pattern => Regex.IsMatch(key, pattern)));

        var copies = keys.Expected
            .Where(pair => weights.ContainsKey(pair.Key) || tiedSources.ContainsKey(pair.Key))
            .Select(pair => (Target: pair.Value, Source: weights[tiedSources.GetValueOrDefault(pair.Key, pair.Key)], CheckpointKey: pair.Key))
            .ToList();
        var mismatched = copies
            .Where(copy => !copy.Source.Shape.SequenceEqual(moduleState[copy.Target].shape))
            .Select(copy => new MismatchedKey(copy.CheckpointKey, copy.Source.Shape, moduleState[copy.Target].shape))
            .ToList();

        var report = new LoadReport(missing, unexpected, mismatched);
        if (mismatched.Count > 0 && !options.IgnoreMismatchedSizes)
            throw new CheckpointMismatchException(
                $"Error(s) in loading state_dict for {module.GetName()}: " +
                string.Join("; ", mismatched.Select(SizeMismatch)) +
                ". You may consider loading with IgnoreMismatchedSizes to skip these tensors.");
        if (options.Strict && !report.IsComplete)
            throw new CheckpointMismatchException(StrictFailure(module.GetName(), report));

        var skipped = mismatched.Select(mismatch => mismatch.Key).ToHashSet(StringComparer.Ordinal);
        using (torch.no_grad())
        {
            foreach (var (target, source, checkpointKey) in copies)
            {
                if (skipped.Contains(checkpointKey))
                    continue;
                using (var values = source.ToTorch())
                    moduleState[target].copy_(values);
                MappedFile.ReleasePages(source.Data);
            }
        }
        return report;
    }

    private static bool IsBuffer(torch.nn.Module module, string key) =>
        key.Split('.').All(part => part.Length > 0) && module.has_buffer(key);

    private static string SizeMismatch(MismatchedKey mismatch) =>
        $"size mismatch for {mismatch.Key}: copying a param with shape {LoadReport.TorchSize(mismatch.CheckpointShape)} from checkpoint, the shape in current model is {LoadReport.TorchSize(mismatch.ModelShape)}";

    private static string StrictFailure(string moduleName, LoadReport report)
    {
        var problems = new List<string>();
        if (report.MissingKeys.Count > 0)
            problems.Add($"missing keys {LoadReport.PythonList(report.MissingKeys)}");
        if (report.UnexpectedKeys.Count > 0)
            problems.Add($"unexpected keys {LoadReport.PythonList(report.UnexpectedKeys)}");
        problems.AddRange(report.MismatchedKeys.Select(SizeMismatch));
        return $"Error(s) in loading state_dict for {moduleName} (strict): {string.Join("; ", problems)}";
    }

    /// <summary>
    /// transformers' prefix rule: when the checkpoint has <c>prefix</c>-led keys and the module has none, the module is
    /// the bare model and the checkpoint's prefix is dropped; in the opposite case the module is a task model and its
    /// base-model keys are matched without the prefix. Keys are reported in checkpoint naming.
    /// </summary>
    private sealed class KeyMapping
    {
        private readonly string _prefix;
        private readonly bool _addPrefix;
        private readonly bool _removePrefix;
        private readonly IReadOnlyList<string> _loadedKeys;
        private readonly IReadOnlyList<string> _moduleKeys;

        public KeyMapping(string prefix, IReadOnlyList<string> loadedKeys, IReadOnlyList<string> moduleKeys)
        {
            _prefix = prefix;
            _loadedKeys = loadedKeys;
            _moduleKeys = moduleKeys;
            // transformers tests StartsWith(prefix) without the dot here; kept for identical decisions.
            var hasPrefixModule = prefix.Length > 0 && loadedKeys.Any(key => key.StartsWith(prefix, StringComparison.Ordinal));
            var expectsPrefixModule = prefix.Length > 0 && moduleKeys.Any(key => key.StartsWith(prefix, StringComparison.Ordinal));
            _removePrefix = !hasPrefixModule && expectsPrefixModule;
            _addPrefix = hasPrefixModule && !expectsPrefixModule;
            Expected = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var key in moduleKeys)
                Expected.TryAdd(ToCheckpointKey(key), key);
        }

        /// <summary>Checkpoint key → module key, for every key of the module's state dict.</summary>
        public Dictionary<string, string> Expected { get; }

        private string Dotted => _prefix + ".";

        public string ToCheckpointKey(string moduleKey)
        {
            if (_removePrefix)
                return moduleKey.StartsWith(Dotted, StringComparison.Ordinal) ? moduleKey[Dotted.Length..] : moduleKey;
            return _addPrefix ? Dotted + moduleKey : moduleKey;
        }

        /// <summary>The module keys a checkpoint key can stand for.</summary>
        public IEnumerable<string> ToModuleKeys(string checkpointKey)
        {
            if (_removePrefix)
                return [Dotted + checkpointKey, checkpointKey];
            if (_addPrefix)
                return checkpointKey.StartsWith(Dotted, StringComparison.Ordinal) ? [checkpointKey[Dotted.Length..]] : [];
            return [checkpointKey];
        }

        /// <summary>
        /// A bare-model checkpoint loaded into a task model must not hold task-head keys; transformers calls such a
        /// state dict corrupted.
        /// </summary>
        public void RejectHeadWeightsWithoutBase()
        {
            if (!_removePrefix)
                return;
            var headKeys = _moduleKeys.Where(key => !key.StartsWith(Dotted, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
            var baseKeys = _moduleKeys.Where(key => key.StartsWith(Dotted, StringComparison.Ordinal))
                .Select(key => key[Dotted.Length..]).ToHashSet(StringComparer.Ordinal);
            var corrupt = _loadedKeys.FirstOrDefault(key => headKeys.Contains(key) && !baseKeys.Contains(key));
            if (corrupt is not null)
                throw new CheckpointFormatException(
                    $"The state dictionary being loaded is corrupted: it holds head weight '{corrupt}' but no '{_prefix}.' base-model weights");
        }
    }
}
