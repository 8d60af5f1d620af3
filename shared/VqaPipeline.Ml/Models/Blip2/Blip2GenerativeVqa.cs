using System.Text.Json;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Generation;
using VqaPipeline.Ml.Models.Blip;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Tokenization;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Blip2;

/// <summary>
/// <see cref="IGenerativeVqaModel"/> for BLIP-2 with OPT (<c>Salesforce/blip2-opt-2.7b</c>, <c>-6.7b</c>): the VQA
/// guide's zero-shot recipe, prompt <c>Question: {question} Answer:</c>, answers as
/// <c>Blip2ForConditionalGeneration.generate</c> writes them (the leading bos skipped when decoding).
/// </summary>
internal sealed class Blip2GenerativeVqa : GenerativeVqaModel
{
    private readonly Blip2ForConditionalGeneration model;
    private readonly ByteLevelBpeTokenizer tokenizer;

    private Blip2GenerativeVqa(Blip2ForConditionalGeneration model, ByteLevelBpeTokenizer tokenizer, BlipImageProcessor processor,
        Device device, ScalarType dtype, LoadReport report, string folder, int batchSize)
        : base(model, processor, device, dtype, report, folder, batchSize)
    {
        this.model = model;
        this.tokenizer = tokenizer;
    }

    public override string ModelType => "blip-2";

    protected override string DefaultPrompt => "Question: {question} Answer:";

    public static Blip2GenerativeVqa Load(string folder, Blip2Config config, Device device, ScalarType dtype, int batchSize)
    {
        RequireOpt(folder);
        var tokenizer = ByteLevelBpeTokenizer.FromPretrained(folder);
        var processor = BlipImageProcessor.FromPretrained(folder);
        var (model, report) = GenerativeModelLoading.Load(folder, () => new Blip2ForConditionalGeneration(config),
            Blip2ForConditionalGeneration.LoadOptions, device, dtype);
        return new Blip2GenerativeVqa(model, tokenizer, processor, device, dtype, report, folder, batchSize);
    }

    /// <summary>Only OPT language models are implemented; a Flan-T5 BLIP-2 is refused before anything loads.</summary>
    private static void RequireOpt(string folder)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, ModelConfig.FileName)));
        var kind = document.RootElement.TryGetProperty("text_config", out var text) && text.TryGetProperty("model_type", out var type)
            ? type.GetString()
            : "opt";
        if (kind != "opt")
            throw new UnsupportedModelException($"'{folder}' is a BLIP-2 with a '{kind}' language model; only OPT language models are supported.");
    }

    /// <summary>Image → vision transformer → Q-Former → projection: the query embeddings every prompt starts with.</summary>
    protected override Tensor EncodePixels(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return model.ProjectQueries(model.QueryImage(model.EncodeImage(pixelValues))).MoveToOuterDisposeScope();
    }

    protected override (long[] Ids, bool Truncated) PromptIds(string prompt) =>
        (tokenizer.Encode(prompt).Select(id => (long)id).ToArray(), false);

    /// <summary>Prompts padded on the left: positions count attended tokens, so every row decodes as it would alone.</summary>
    protected override IAutoregressiveDecoder StartDecoder(Tensor imageState, IReadOnlyList<long[]> prompts)
    {
        using var scope = NewDisposeScope();
        var (ids, mask) = PaddedPrompts.Build(prompts, model.Config.TextConfig.PadTokenId ?? 1, padLeft: true, Device);
        return model.StartPrompt(imageState, ids, mask);
    }

    protected override GenerationSettings Settings(int promptLength, GenerationOptions options)
    {
        var settings = model.GenerationSettings(promptLength, options.MaxNewTokens, options.NumBeams, options.LengthPenalty,
            options.EarlyStopping);
        var positions = model.Config.TextConfig.MaxPositionEmbeddings;
        var needed = model.Config.NumQueryTokens + promptLength + settings.MaxLength - 1;
        if (needed > positions)
            throw new InvalidGenerationOptionsException(
                $"{model.Config.NumQueryTokens} query tokens, a {promptLength}-token prompt and {settings.MaxLength - 1} new tokens " +
                $"need {needed} positions; the language model has {positions}.");
        return settings;
    }

    /// <summary>The candidate as it follows the prompt (" yes": a word after "Answer:"), then end-of-sequence.</summary>
    protected override long[] CandidateIds(string candidate) =>
        tokenizer.Encode(tokenizer.AddPrefixSpace ? candidate : " " + candidate, addSpecialTokens: false)
            .Select(id => (long)id).Append(model.Config.TextConfig.EosTokenId ?? 2).ToArray();

    protected override string Decode(IReadOnlyList<long> ids) => tokenizer.Decode(ids, skipSpecialTokens: true).Trim();
}
