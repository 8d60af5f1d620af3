using VqaPipeline.Ml.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Training;

/// <summary>
/// transformers' <c>ViltPreTrainedModel._init_weights</c>: Linear and Conv2d weights ~ N(0, initializer_range) with zero
/// bias, Embedding weights ~ N(0, initializer_range) with the padding row zeroed, LayerNorm weight 1 and bias 0.
/// Other parameters (<c>cls_token</c>, the image <c>position_embeddings</c>, the MLM bias) are left as they are, as
/// transformers leaves them: zero in a freshly built model.
/// </summary>
public static class ViltInitializer
{
    private const string WordEmbeddings = "word_embeddings.";

    /// <summary>Initializes every submodule of <paramref name="module"/>, drawing from a generator seeded with <paramref name="seed"/>.</summary>
    public static void Initialize(nn.Module module, ViltConfig config, long seed) =>
        Initialize(module, config, seed, _ => true);

    /// <summary>
    /// Initializes the submodules that hold at least one of <paramref name="stateKeys"/> (module state-dict names), as
    /// <c>from_pretrained</c> initializes only the modules whose weights the checkpoint did not provide.
    /// </summary>
    public static void InitializeKeys(nn.Module module, ViltConfig config, long seed, IReadOnlyCollection<string> stateKeys)
    {
        var wanted = stateKeys.ToHashSet(StringComparer.Ordinal);
        Initialize(module, config, seed, prefix => wanted.Any(key => key.StartsWith(prefix, StringComparison.Ordinal)));
    }

    private static void Initialize(nn.Module module, ViltConfig config, long seed, Func<string, bool> holdsWantedKey)
    {
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        Visit(module, "", config, generator, holdsWantedKey);
    }

    // Children before their parent, in registration order: the order of torch's Module.apply, so the draws match.
    private static void Visit(nn.Module module, string prefix, ViltConfig config, Generator generator, Func<string, bool> holdsWantedKey)
    {
        foreach (var (name, child) in module.named_children())
            Visit(child, prefix + name + ".", config, generator, holdsWantedKey);
        if (holdsWantedKey(prefix))
            InitializeModule(module, prefix, config, generator);
    }

    private static void InitializeModule(nn.Module module, string prefix, ViltConfig config, Generator generator)
    {
        var std = config.InitializerRange;
        switch (module)
        {
            case Linear linear:
                linear.weight!.normal_(0.0, std, generator);
                linear.bias?.zero_();
                break;
            case Conv2d conv:
                conv.weight!.normal_(0.0, std, generator);
                conv.bias?.zero_();
                break;
            case Embedding embedding:
                embedding.weight!.normal_(0.0, std, generator);
                // TorchSharp does not expose padding_idx; in ViLT only the word embeddings have one (pad_token_id).
                if (prefix.EndsWith(WordEmbeddings, StringComparison.Ordinal) && config.PadTokenId is int padding)
                    embedding.weight[padding].zero_();
                break;
            case LayerNorm norm:
                norm.weight?.fill_(1.0);
                norm.bias?.zero_();
                break;
        }
    }
}
