using VqaPipeline.Ml.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Vilt;

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

    /// <summary>
    /// Replaces the image position embeddings (<c>vilt.embeddings.position_embeddings</c>, zeros in transformers) with
    /// MAE's fixed 2-D sine-cosine table: half the channels encode the row, half the column, the image CLS position
    /// stays zero, every value times <paramref name="scale"/>. Trained from scratch, a ViLT whose positions start at
    /// zero, or small next to the patch contents, learns what objects are but not where they are; started from a table
    /// about as large as the patch embeddings it learns where a single object is within a few hundred steps.
    /// </summary>
    public static void InitializeImagePositionsSinCos(nn.Module model, double scale = 1.0)
    {
        var (name, positions) = model.named_parameters().FirstOrDefault(p => p.name.EndsWith("embeddings.position_embeddings", StringComparison.Ordinal)
                                                                             && !p.name.Contains("text_embeddings", StringComparison.Ordinal));
        if (positions is null) throw new InvalidOperationException("the model has no image position embeddings.");
        long count = positions.shape[1], width = positions.shape[2];
        var grid = (long)Math.Round(Math.Sqrt(count - 1));
        if (grid * grid != count - 1 || width % 4 != 0)
            throw new InvalidOperationException($"{name}: a square grid and a width divisible by 4 are needed for the sine-cosine table.");
        var table = new float[count * width];
        var quarter = width / 4;
        for (long patch = 0; patch < grid * grid; patch++)
        {
            long row = patch / grid, column = patch % grid;
            var offset = (patch + 1) * width;
            for (long i = 0; i < quarter; i++)
            {
                var frequency = 1.0 / Math.Pow(10000, (double)i / quarter);
                table[offset + i] = (float)(scale * Math.Sin(row * frequency));
                table[offset + quarter + i] = (float)(scale * Math.Cos(row * frequency));
                table[offset + 2 * quarter + i] = (float)(scale * Math.Sin(column * frequency));
                table[offset + 3 * quarter + i] = (float)(scale * Math.Cos(column * frequency));
            }
        }
        using var noGrad = no_grad();
        using var values = tensor(table, [1, count, width], dtype: positions.dtype, device: positions.device);
        positions.copy_(values);
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
