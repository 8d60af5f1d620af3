using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Generation;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Tokenization;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Blip;

/// <summary>
/// <see cref="IGenerativeVqaModel"/> for BLIP (<c>Salesforce/blip-vqa-base</c>, <c>-capfilt-large</c>): answers as
/// <c>BlipForQuestionAnswering.generate</c> does, the question as the prompt.
/// </summary>
internal sealed class BlipGenerativeVqa : GenerativeVqaModel
{
    private readonly BlipForQuestionAnswering model;
    private readonly BertTokenizer tokenizer;

    private BlipGenerativeVqa(BlipForQuestionAnswering model, BertTokenizer tokenizer, BlipImageProcessor processor,
        Device device, ScalarType dtype, LoadReport report, string folder, int batchSize)
        : base(model, processor, device, dtype, report, folder, batchSize)
    {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    public override string ModelType => "blip";

    protected override string DefaultPrompt => "{question}";

    public static BlipGenerativeVqa Load(string folder, BlipConfig config, Device device, ScalarType dtype, int batchSize)
    {
        var tokenizer = BertTokenizer.FromPretrained(folder);
        var processor = BlipImageProcessor.FromPretrained(folder);
        var (model, report) = GenerativeModelLoading.Load(folder, () => new BlipForQuestionAnswering(config),
            BlipForQuestionAnswering.LoadOptions, device, dtype);
        return new BlipGenerativeVqa(model, tokenizer, processor, device, dtype, report, folder, batchSize);
    }

    protected override Tensor EncodePixels(Tensor pixelValues) => model.EncodeImage(pixelValues);

    protected override (long[] Ids, bool Truncated) PromptIds(string prompt)
    {
        var encoded = tokenizer.Encode(prompt, maxLength: model.Config.TextConfig.MaxPositionEmbeddings, truncate: true);
        return (encoded.InputIds.Select(id => (long)id).ToArray(), encoded.Truncated);
    }

    /// <summary>Questions padded on the right (absolute positions start at 0 in every row); the decoder masks the padding.</summary>
    protected override IAutoregressiveDecoder StartDecoder(Tensor imageState, IReadOnlyList<long[]> prompts)
    {
        using var scope = NewDisposeScope();
        var (ids, mask) = PaddedPrompts.Build(prompts, tokenizer.PadTokenId, padLeft: false, Device);
        var questionEmbeds = model.EncodeQuestion(imageState, ids, mask);
        return model.StartAnswer(questionEmbeds, mask);
    }

    protected override GenerationSettings Settings(int promptLength, GenerationOptions options)
    {
        var settings = model.GenerationSettings(options.MaxNewTokens, options.NumBeams, options.LengthPenalty, options.EarlyStopping);
        var positions = model.Config.TextConfig.MaxPositionEmbeddings;
        if (settings.MaxLength > positions)
            throw new InvalidGenerationOptionsException(
                $"{settings.MaxLength - 1} new tokens do not fit the answer decoder's {positions} positions (at most {positions - 1}).");
        return settings;
    }

    /// <summary>The candidate's word pieces then [SEP], which ends every BLIP answer.</summary>
    protected override long[] CandidateIds(string candidate) =>
        tokenizer.Tokenize(candidate).Select(t => (long)(tokenizer.IdOf(t) ?? tokenizer.UnkTokenId))
            .Append(model.Config.TextConfig.SepTokenId).ToArray();

    protected override string Decode(IReadOnlyList<long> ids) =>
        tokenizer.Decode(ids.Select(id => (int)id), skipSpecialTokens: true).Trim();
}

/// <summary>Ragged prompts as one padded (rows, length) id tensor and its attention mask.</summary>
internal static class PaddedPrompts
{
    public static (Tensor Ids, Tensor Mask) Build(IReadOnlyList<long[]> prompts, long padId, bool padLeft, Device device)
    {
        var length = prompts.Max(p => p.Length);
        var ids = new long[prompts.Count * length];
        var mask = new long[prompts.Count * length];
        for (var row = 0; row < prompts.Count; row++)
        {
            var prompt = prompts[row];
            var start = padLeft ? length - prompt.Length : 0;
            Array.Fill(ids, padId, row * length, length);
            prompt.CopyTo(ids, row * length + start);
            Array.Fill(mask, 1L, row * length + start, prompt.Length);
        }
        return (tensor(ids, [prompts.Count, length], device: device), tensor(mask, [prompts.Count, length], device: device));
    }
}
