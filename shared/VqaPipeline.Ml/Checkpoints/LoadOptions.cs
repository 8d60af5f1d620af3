namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// How <see cref="ModuleWeights.Load"/> matches checkpoint keys to a module, mirroring transformers'
/// <c>from_pretrained</c> and the class attributes of <c>PreTrainedModel</c>.
/// </summary>
public sealed record LoadOptions
{
    /// <summary>
    /// The attribute name of the bare model inside task models (<c>base_model_prefix</c>, e.g. "vilt"): a checkpoint of
    /// the bare model loads into a task model by adding it, a task checkpoint into the bare model by stripping it.
    /// </summary>
    public string BaseModelPrefix { get; init; } = "";

    /// <summary>
    /// Tied parameters, as module key → the module key it shares its weights with (e.g.
    /// <c>language_model.lm_head.weight</c> → <c>language_model.model.decoder.embed_tokens.weight</c>). A tied key the
    /// checkpoint lacks is not missing: it receives its source's tensor.
    /// </summary>
    public IReadOnlyDictionary<string, string> TiedWeights { get; init; } = new Dictionary<string, string>();

    /// <summary>Regular expressions of missing keys not to report (<c>_keys_to_ignore_on_load_missing</c>).</summary>
    public IReadOnlyList<string> IgnoreMissing { get; init; } = [];

    /// <summary>Regular expressions of unexpected keys not to report (<c>_keys_to_ignore_on_load_unexpected</c>).</summary>
    public IReadOnlyList<string> IgnoreUnexpected { get; init; } = [];

    /// <summary>
    /// Like <c>ignore_mismatched_sizes=True</c>: a tensor whose shape differs from the module's is skipped and reported
    /// instead of failing the load.
    /// </summary>
    public bool IgnoreMismatchedSizes { get; init; }

    /// <summary>Fail with <see cref="CheckpointMismatchException"/> on any missing, unexpected or mismatched key.</summary>
    public bool Strict { get; init; }
}
