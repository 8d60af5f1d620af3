// ViLT (Kim et al., 2021) in TorchSharp, mirroring transformers' modeling_vilt.py module for module: every field name
// is its checkpoint key, so a Hugging Face state dict loads without renaming. Classes follow the data flow:
// embeddings → encoder (the shared BERT-style blocks of Models/Bert, pre-norm) → pooler → model → task heads.
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Bert;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>The model inputs as <c>ViltProcessor</c> produces them (all on the model's device).</summary>
public sealed record ViltInputs(Tensor InputIds, Tensor AttentionMask, Tensor TokenTypeIds, Tensor PixelValues, Tensor PixelMask);

/// <summary><c>last_hidden_state</c> (text tokens first, then the image CLS and patches) and the tanh-pooled text CLS.</summary>
public sealed record ViltModelOutput(Tensor LastHiddenState, Tensor? PoolerOutput);

/// <summary>VQA logits (one per answer label) with the backbone outputs they came from.</summary>
public sealed record ViltQuestionAnsweringOutput(Tensor Logits, Tensor PoolerOutput, Tensor LastHiddenState);

/// <summary>Word + token type + position embeddings of the question, then LayerNorm (BERT's text embeddings).</summary>
public sealed class TextEmbeddings : Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public TextEmbeddings(ViltConfig config) : base(nameof(TextEmbeddings))
    {
        word_embeddings = Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds, Tensor tokenTypeIds)
    {
        // Scalars are held in `using` so the GC cannot finalize one while libtorch still reads it.
        using var length = inputIds.shape[1].ToScalar();
        using var positionIds = arange(length, dtype: int64, device: inputIds.device).unsqueeze(0);
        using var words = word_embeddings.forward(inputIds);
        using var types = token_type_embeddings.forward(tokenTypeIds);
        using var positions = position_embeddings.forward(positionIds);
        using var sum = words.Plus(types).Plus(positions);
        using var normalized = LayerNorm.forward(sum);
        return dropout.forward(normalized);
    }
}

/// <summary>Non-overlapping patch_size × patch_size convolution that turns pixels into patch vectors.</summary>
public sealed class ViltPatchEmbeddings : Module<Tensor, Tensor>
{
    private readonly Conv2d projection;

    public ViltPatchEmbeddings(ViltConfig config) : base(nameof(ViltPatchEmbeddings))
    {
        projection = Conv2d(config.NumChannels, config.HiddenSize, kernel_size: config.PatchSize, stride: config.PatchSize);
        RegisterComponents();
    }

    public Tensor Weight => projection.weight!;

    public override Tensor forward(Tensor pixelValues)
    {
        using var cast = pixelValues.to(projection.weight!.dtype);
        return projection.forward(cast);
    }
}

/// <summary>
/// Text and image embeddings side by side: <c>[text tokens] ++ [image CLS, patches]</c>, each with its modality-type
/// embedding. The learned position grid is bilinearly resized (align_corners) to each image's valid patch grid.
/// </summary>
public sealed class ViltEmbeddings : Module<ViltInputs, (Tensor Embeddings, Tensor Mask)>
{
    private readonly TextEmbeddings text_embeddings;
    private readonly Parameter cls_token;
    private readonly ViltPatchEmbeddings patch_embeddings;
    private readonly Parameter position_embeddings;
    private readonly Embedding token_type_embeddings;
    private readonly Dropout dropout;
    private readonly int patchGrid;

    public ViltEmbeddings(ViltConfig config) : base(nameof(ViltEmbeddings))
    {
        text_embeddings = new TextEmbeddings(config);
        cls_token = Parameter(zeros(1, 1, config.HiddenSize));
        patch_embeddings = new ViltPatchEmbeddings(config);
        patchGrid = config.ImageSize / config.PatchSize;
        position_embeddings = Parameter(zeros(1, patchGrid * patchGrid + 1, config.HiddenSize));
        token_type_embeddings = Embedding(config.ModalityTypeVocabSize, config.HiddenSize);
        dropout = Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override (Tensor Embeddings, Tensor Mask) forward(ViltInputs inputs)
    {
        using var scope = NewDisposeScope();
        var text = text_embeddings.forward(inputs.InputIds, inputs.TokenTypeIds);
        var (image, imageMask) = VisualEmbed(inputs.PixelValues, inputs.PixelMask);

        text = text.Plus(token_type_embeddings.forward(zeros_like(inputs.AttentionMask, dtype: int64)));
        image = image.Plus(token_type_embeddings.forward(ones_like(imageMask, dtype: int64)));

        var embeddings = cat([text, image], dim: 1);
        var mask = cat([inputs.AttentionMask.to(int64), imageMask], dim: 1);
        return (embeddings.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    private (Tensor Patches, Tensor Mask) VisualEmbed(Tensor pixelValues, Tensor pixelMask)
    {
        var x = patch_embeddings.forward(pixelValues);
        long batch = x.shape[0], channels = x.shape[1], height = x.shape[2], width = x.shape[3];

        // A patch is valid where the nearest-resized pixel mask is 1; valid patches form a top-left h × w block.
        var patchMask = functional.interpolate(pixelMask.unsqueeze(1).to(float32), size: [height, width]).to(int64);
        var validRows = patchMask[.., 0, .., 0].sum(dim: 1).cpu().data<long>().ToArray();
        var validCols = patchMask[.., 0, 0, ..].sum(dim: 1).cpu().data<long>().ToArray();

        var spatial = position_embeddings[.., 1.., ..].transpose(1, 2).view(1, channels, patchGrid, patchGrid);
        var positionPerImage = new Tensor[batch];
        for (var i = 0; i < batch; i++)
        {
            var resized = functional.interpolate(spatial, size: [validRows[i], validCols[i]],
                mode: InterpolationMode.Bilinear, align_corners: true);
            positionPerImage[i] = functional.pad(resized, [0, width - validCols[i], 0, height - validRows[i]]);
        }
        var positions = cat(positionPerImage, dim: 0).flatten(2).transpose(1, 2);
        var patches = x.flatten(2).transpose(1, 2);
        var mask = patchMask.flatten(1);

        // Python samples patches with torch.multinomial even in eval; positions travel with their patches and padding
        // patches are masked out, so a fixed order (valid patches row-major, then padding) gives the same outputs.
        var selection = PatchSelection(validRows, validCols, height, width);
        if (selection is not null)
        {
            using var index = tensor(selection, device: x.device);
            patches = patches.reshape(-1, channels).index_select(0, index).view(batch, -1, channels);
            positions = positions.reshape(-1, channels).index_select(0, index).view(batch, -1, channels);
            mask = mask.reshape(-1).index_select(0, index).view(batch, -1);
        }

        var clsTokens = cls_token.expand(batch, -1, -1);
        var clsPosition = position_embeddings[.., 0, ..].unsqueeze(1).expand(batch, -1, -1);
        var embedded = dropout.forward(cat([clsTokens, patches], dim: 1).Plus(cat([clsPosition, positions], dim: 1)));
        var fullMask = cat([ones(batch, 1, dtype: int64, device: mask.device), mask], dim: 1);
        return (embedded, fullMask);
    }

    /// <summary>Flat indices (image × patch) of the kept patches, or null when every image fills the whole grid.</summary>
    private static long[]? PatchSelection(long[] validRows, long[] validCols, long height, long width)
    {
        var batch = validRows.Length;
        var validCounts = validRows.Zip(validCols, (h, w) => h * w).ToArray();
        var keep = validCounts.Max();
        if (keep == height * width) return null;

        var selection = new long[batch * keep];
        var next = 0;
        for (var i = 0; i < batch; i++)
        {
            long imageOffset = i * height * width, taken = 0;
            for (var r = 0L; r < validRows[i]; r++)
                for (var c = 0L; c < validCols[i]; c++, taken++)
                    selection[next++] = imageOffset + r * width + c;
            for (var p = 0L; taken < keep; p++)
            {
                long r = p / width, c = p % width;
                if (r < validRows[i] && c < validCols[i]) continue;
                selection[next++] = imageOffset + p;
                taken++;
            }
        }
        return selection;
    }
}

/// <summary>tanh(Linear(h[:, 0])): the text [CLS] state summarises image and question.</summary>
public sealed class ViltPooler : Module<Tensor, Tensor>
{
    private readonly Linear dense;

    public ViltPooler(ViltConfig config) : base(nameof(ViltPooler))
    {
        dense = Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var first = hiddenStates[.., 0];
        using var projected = dense.forward(first);
        return projected.tanh();
    }
}

/// <summary>The bare ViLT transformer (<c>ViltModel</c>).</summary>
public sealed class ViltModel : Module<ViltInputs, ViltModelOutput>
{
    private readonly ViltEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly LayerNorm layernorm;
    private readonly ViltPooler? pooler;

    public ViltModel(ViltConfig config, bool addPoolingLayer = true) : base(nameof(ViltModel))
    {
        embeddings = new ViltEmbeddings(config);
        encoder = new BertEncoder(LayerSettings(config), config.NumHiddenLayers, _ => EncoderLayout);
        layernorm = LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        pooler = addPoolingLayer ? new ViltPooler(config) : null;
        RegisterComponents();
    }

    public override ViltModelOutput forward(ViltInputs inputs)
    {
        using var scope = NewDisposeScope();
        var (embedded, mask) = embeddings.forward(inputs);
        // Padding positions get the dtype's most negative value added to their attention scores, as in HF.
        var dtype = embedded.dtype;
        var additiveMask = AttentionMasks.Padding(mask, dtype);
        var sequence = layernorm.forward(encoder.Forward(embedded, additiveMask));
        var pooled = pooler?.forward(sequence);
        return new ViltModelOutput(sequence.MoveToOuterDisposeScope(), pooled?.MoveToOuterDisposeScope());
    }

    /// <summary>ViLT's blocks are pre-norm, with the attention's inner module named <c>attention</c>.</summary>
    private static readonly BertLayerLayout EncoderLayout = new("attention", PreLayerNorm: true);

    private static BertLayerSettings LayerSettings(ViltConfig config) => new(
        config.HiddenSize, config.NumAttentionHeads, config.IntermediateSize, config.HiddenAct, config.LayerNormEps,
        config.HiddenDropoutProb, config.AttentionProbsDropoutProb, config.QkvBias);
}

/// <summary><c>ViltForQuestionAnswering</c>: pooled output → Linear(h, 2h) → LayerNorm → GELU → Linear(2h, labels).</summary>
public sealed class ViltForQuestionAnswering : Module<ViltInputs, ViltQuestionAnsweringOutput>
{
    /// <summary>HF's base_model_prefix: the bare model's keys live under <c>vilt.</c>.</summary>
    public const string BaseModelPrefix = "vilt";

    private readonly ViltModel vilt;
    private readonly Sequential classifier;

    public ViltForQuestionAnswering(ViltConfig config) : base(nameof(ViltForQuestionAnswering))
    {
        if (config.NumLabels < 1)
            throw new UnsupportedModelException("A ViLT question-answering model needs id2label with at least one answer.");
        vilt = new ViltModel(config);
        classifier = Sequential(
            ("0", Linear(config.HiddenSize, config.HiddenSize * 2)),
            ("1", LayerNorm(config.HiddenSize * 2)),
            ("2", GELU()),
            ("3", Linear(config.HiddenSize * 2, config.NumLabels)));
        RegisterComponents();
    }

    public override ViltQuestionAnsweringOutput forward(ViltInputs inputs)
    {
        var backbone = vilt.forward(inputs);
        var logits = classifier.forward(backbone.PoolerOutput!);
        return new ViltQuestionAnsweringOutput(logits, backbone.PoolerOutput!, backbone.LastHiddenState);
    }
}

/// <summary>ViLT's masked-language-modelling head (<c>mlm_score</c>), so <c>dandelin/vilt-b32-mlm</c> loads whole.</summary>
public sealed class ViltMLMHead : Module<Tensor, Tensor>
{
    private readonly BertPredictionHeadTransform transform;
    private readonly Linear decoder;
    private readonly Parameter bias;

    public ViltMLMHead(ViltConfig config) : base(nameof(ViltMLMHead))
    {
        transform = new BertPredictionHeadTransform(config.HiddenSize, config.HiddenAct, config.LayerNormEps);
        decoder = Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        bias = Parameter(zeros(config.VocabSize));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var transformed = transform.forward(hiddenStates);
        using var decoded = decoder.forward(transformed);
        return decoded.Plus(bias);
    }
}

/// <summary><c>ViltForMaskedLM</c>: word logits for the text tokens.</summary>
public sealed class ViltForMaskedLM : Module<ViltInputs, Tensor>
{
    private readonly ViltModel vilt;
    private readonly ViltMLMHead mlm_score;

    public ViltForMaskedLM(ViltConfig config) : base(nameof(ViltForMaskedLM))
    {
        vilt = new ViltModel(config);
        mlm_score = new ViltMLMHead(config);
        RegisterComponents();
    }

    public override Tensor forward(ViltInputs inputs)
    {
        using var scope = NewDisposeScope();
        var backbone = vilt.forward(inputs);
        var text = backbone.LastHiddenState[.., ..(int)inputs.InputIds.shape[1]];
        return mlm_score.forward(text).MoveToOuterDisposeScope();
    }
}
