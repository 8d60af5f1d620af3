using TorchSharp;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Generation;
using VqaPipeline.Ml.Models.Bert;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VqaPipeline.Ml.Models.Blip;

/// <summary>
/// transformers' <c>BlipForQuestionAnswering</c> (<c>Salesforce/blip-vqa-base</c>): the vision transformer encodes
/// the image, the text encoder reads the question while cross-attending to it, and the text decoder writes the answer
/// from <c>[DEC]</c> while cross-attending to the encoded question. The three stages are separate methods so that an
/// image is encoded once for all of its questions.
/// </summary>
public sealed class BlipForQuestionAnswering : Module
{
    /// <summary>
    /// The decoder's bias is one parameter under two keys; safetensors files keep only <c>cls.predictions.bias</c>
    /// (transformers' <c>_keys_to_ignore_on_load_missing</c>).
    /// </summary>
    public static LoadOptions LoadOptions { get; } = new()
    {
        IgnoreMissing = [@"^text_decoder\.cls\.predictions\.decoder\.bias$"],
    };

    private readonly BlipVisionModel vision_model;
    private readonly BlipTextModel text_encoder;
    private readonly BlipTextLMHeadModel text_decoder;

    public BlipForQuestionAnswering(BlipConfig config) : base(nameof(BlipForQuestionAnswering))
    {
        Config = config;
        vision_model = new BlipVisionModel(config.VisionConfig);
        text_encoder = new BlipTextModel(config.TextConfig);
        text_decoder = new BlipTextLMHeadModel(config.TextConfig);
        RegisterComponents();
    }

    public BlipConfig Config { get; }

    /// <summary><c>image_embeds</c>: the vision transformer's last hidden state (batch, 1 + patches, vision width).</summary>
    public Tensor EncodeImage(Tensor pixelValues) => vision_model.forward(pixelValues);

    /// <summary>
    /// <c>question_embeds</c>: the text encoder's last hidden state for the question, cross-attending to
    /// <paramref name="imageEmbeds"/> (one image per question row, every image position attended).
    /// </summary>
    public Tensor EncodeQuestion(Tensor imageEmbeds, Tensor inputIds, Tensor attentionMask)
    {
        using var imageMask = ones(imageEmbeds.shape[0], imageEmbeds.shape[1], dtype: int64, device: imageEmbeds.device);
        return text_encoder.Forward(inputIds, attentionMask, imageEmbeds, imageMask, causal: false);
    }

    /// <summary>
    /// A decoder positioned before <c>[DEC]</c> that answers from <paramref name="questionEmbeds"/>. transformers
    /// gives the decoder an all-ones mask over the question; <paramref name="questionMask"/> masks padded positions
    /// instead, so a padded batch answers each question as it would be answered alone (where transformers' batched
    /// output would let padding leak in).
    /// </summary>
    public BlipAnswerDecoder StartAnswer(Tensor questionEmbeds, Tensor questionMask) =>
        new(text_decoder, questionEmbeds, questionMask, Config.TextConfig.BosTokenId ?? 30522);

    /// <summary>
    /// The generation settings of <c>BlipForQuestionAnswering.generate</c>: decoding starts from <c>[DEC]</c>
    /// (the text config's bos), stops at <c>[SEP]</c> (sep_token_id), pads with pad_token_id; max_length 20 by default.
    /// </summary>
    public GenerationSettings GenerationSettings(int? maxNewTokens = null, int numBeams = 1, double lengthPenalty = 1.0,
        EarlyStopping earlyStopping = EarlyStopping.Heuristic, int maxLength = 20, int minLength = 0)
    {
        var text = Config.TextConfig;
        return new GenerationSettings
        {
            PromptIds = [text.BosTokenId ?? 30522],
            MaxLength = maxNewTokens is int extra ? extra + 1 : maxLength,
            MinLength = minLength,
            EosTokenId = text.SepTokenId,
            PadTokenId = text.PadTokenId ?? 0,
            NumBeams = numBeams,
            LengthPenalty = lengthPenalty,
            EarlyStopping = earlyStopping,
        };
    }
}

/// <summary>The BLIP answer decoder mid-generation: question states to cross-attend to and a key/value cache.</summary>
public sealed class BlipAnswerDecoder : IAutoregressiveDecoder, IDeviceDecoder
{
    private readonly BlipTextLMHeadModel decoder;
    private readonly long startToken;
    private readonly List<BertLayerCache> caches;
    private Tensor questionStates;
    private Tensor questionMask;

    internal BlipAnswerDecoder(BlipTextLMHeadModel decoder, Tensor questionStates, Tensor questionMask, long startToken)
    {
        this.decoder = decoder;
        this.startToken = startToken;
        this.questionStates = questionStates.alias().DetachFromDisposeScope();
        this.questionMask = questionMask.alias().DetachFromDisposeScope();
        caches = Enumerable.Range(0, decoder.Layers).Select(_ => new BertLayerCache()).ToList();
    }

    public int Rows => (int)questionStates.shape[0];

    public Device Device => questionStates.device;

    public Tensor NextTokenLogits(Tensor? tokens)
    {
        using var scope = NewDisposeScope();
        var input = tokens is null
            ? full(Rows, 1, startToken, dtype: int64, device: Device)
            : tokens.view(Rows, 1);
        // The decoder attends to every earlier answer token: transformers passes an all-ones mask.
        var attention = ones(Rows, caches[0].Self.Length + 1, dtype: int64, device: Device);
        var logits = decoder.Logits(input, attention, questionStates, questionMask, caches);
        return logits[.., -1].MoveToOuterDisposeScope();
    }

    public void SelectRows(Tensor rows)
    {
        foreach (var cache in caches) cache.SelectRows(rows);
        Replace(ref questionStates, questionStates.index_select(0, rows));
        Replace(ref questionMask, questionMask.index_select(0, rows));
    }

    private static void Replace(ref Tensor field, Tensor value)
    {
        field.Dispose();
        field = value.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var cache in caches) cache.Dispose();
        questionStates.Dispose();
        questionMask.Dispose();
    }
}
