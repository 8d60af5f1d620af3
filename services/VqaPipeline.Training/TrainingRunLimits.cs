using System.Text.Json;
using System.Text.Json.Nodes;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Training;

/// <summary>
/// The largest training run the API accepts (configuration section <c>Training:Limits</c>). A request over any of
/// them is refused with a 400 naming the setting, before it can take a worker for days or exhaust its memory.
/// </summary>
public sealed record TrainingRunLimits
{
    public const string Section = "Training:Limits";

    /// <summary>The most <c>epochs</c> a run may ask for.</summary>
    public int MaxEpochs { get; set; } = 1_000;

    /// <summary>The most optimizer steps (<c>maxSteps</c>, <c>warmupSteps</c>, <c>saveEvery</c>) a run may ask for.</summary>
    public int MaxSteps { get; set; } = 1_000_000;

    /// <summary>The largest <c>batchSize</c>: a batch's images and activations are held at once.</summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>The largest <c>gradientAccumulation</c>.</summary>
    public int MaxGradientAccumulation { get; set; } = 1_024;

    /// <summary>
    /// The most examples a run may train on in all: epochs × the collection's labels, or maxSteps × batch size ×
    /// gradient accumulation.
    /// </summary>
    public long MaxTrainingExamples { get; set; } = 100_000_000;

    /// <summary>The most weights a model started from <c>fromConfig</c> may have (ViLT-B/32 has about 118 million).</summary>
    public long MaxModelParameters { get; set; } = 1_000_000_000;

    /// <summary>The largest <c>fromConfig</c> document, in characters of JSON.</summary>
    public int MaxConfigLength { get; set; } = 64 * 1024;

    /// <summary>
    /// Why <paramref name="request"/> is too large (or its sizes out of range), or null. <paramref name="labels"/>
    /// is the number of labels of the run's collection, when its dataset is one.
    /// </summary>
    public string? Check(TrainingRunRequest request, long? labels, int? workerMaxMemoryMb)
    {
        var problem = (request.Epochs, request.MaxSteps, request.BatchSize, request.GradientAccumulation, request.WarmupSteps, request.SaveEvery) switch
        {
            ({ } epochs, _, _, _, _, _) when epochs < 1 || epochs > MaxEpochs => $"'epochs' must be 1 to {MaxEpochs}",
            (_, { } steps, _, _, _, _) when steps < 1 || steps > MaxSteps => $"'maxSteps' must be 1 to {MaxSteps}",
            (_, _, { } batch, _, _, _) when batch < 1 || batch > MaxBatchSize => $"'batchSize' must be 1 to {MaxBatchSize}",
            (_, _, _, { } accumulation, _, _) when accumulation < 1 || accumulation > MaxGradientAccumulation =>
                $"'gradientAccumulation' must be 1 to {MaxGradientAccumulation}",
            (_, _, _, _, { } warmup, _) when warmup < 0 || warmup > MaxSteps => $"'warmupSteps' must be 0 to {MaxSteps}",
            (_, _, _, _, _, { } every) when every < 1 || every > MaxSteps => $"'saveEvery' must be 1 to {MaxSteps}",
            _ => null,
        };
        if (problem is not null)
            return problem;
        if (request.MaxMemoryMb is { } memory && (memory < 1 || memory > (workerMaxMemoryMb ?? int.MaxValue)))
            return workerMaxMemoryMb is { } ceiling ? $"'maxMemoryMb' must be 1 to {ceiling} (the workers' bound)" : "'maxMemoryMb' must be at least 1";

        long batchSize = request.BatchSize ?? TrainingRunDefaults.BatchSize, accumulated = request.GradientAccumulation ?? 1;
        var examples = request.MaxSteps is { } maxSteps
            ? maxSteps * batchSize * accumulated
            : labels is { } count ? (long)(request.Epochs ?? TrainingRunDefaults.Epochs) * count : 0;
        if (examples > MaxTrainingExamples)
            return request.MaxSteps is not null
                ? $"'maxSteps' × 'batchSize' × 'gradientAccumulation' is {examples} examples, over the limit of {MaxTrainingExamples}"
                : $"'epochs' × the collection's {labels} labels is {examples} examples, over the limit of {MaxTrainingExamples}";
        return request.FromConfig is { } config ? CheckConfig(config) : null;
    }

    private string? CheckConfig(JsonObject json)
    {
        var text = json.ToJsonString();
        if (text.Length > MaxConfigLength)
            return $"'fromConfig' is {text.Length} characters of JSON, over the limit of {MaxConfigLength}";
        ViltConfig config;
        try
        {
            config = JsonSerializer.Deserialize<ViltConfig>(text)!;
        }
        catch (JsonException exception)
        {
            return $"'fromConfig' is not a ViLT configuration: {exception.Message}";
        }

        // The sizes a model of the ViLT family takes, generously: each bounds a tensor dimension.
        (string Name, long Value, long Min, long Max)[] sizes =
        [
            ("hidden_size", config.HiddenSize, 1, 8_192),
            ("num_hidden_layers", config.NumHiddenLayers, 1, 96),
            ("num_attention_heads", config.NumAttentionHeads, 1, 128),
            ("intermediate_size", config.IntermediateSize, 1, 32_768),
            ("vocab_size", config.VocabSize, 1, 500_000),
            ("type_vocab_size", config.TypeVocabSize, 1, 16),
            ("modality_type_vocab_size", config.ModalityTypeVocabSize, 1, 16),
            ("max_position_embeddings", config.MaxPositionEmbeddings, 1, 8_192),
            ("image_size", config.ImageSize, 1, 4_096),
            ("patch_size", config.PatchSize, 1, config.ImageSize),
            ("num_channels", config.NumChannels, 1, 4),
        ];
        foreach (var (name, value, min, max) in sizes)
        {
            if (value < min || value > max)
                return $"'fromConfig.{name}' must be {min} to {max}";
        }
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            return "'fromConfig.hidden_size' must be a multiple of 'num_attention_heads'";
        var parameters = Parameters(config);
        return parameters > MaxModelParameters
            ? $"'fromConfig' describes a model of about {parameters:N0} weights, over the limit of {MaxModelParameters:N0}"
            : null;
    }

    /// <summary>About how many weights a ViLT of <paramref name="config"/> has: embeddings, then each layer's attention and MLP.</summary>
    private static long Parameters(ViltConfig config)
    {
        long hidden = config.HiddenSize, intermediate = config.IntermediateSize;
        var patches = (long)config.ImageSize / config.PatchSize * (config.ImageSize / config.PatchSize);
        var embeddings = (config.VocabSize + config.MaxPositionEmbeddings + config.TypeVocabSize + config.ModalityTypeVocabSize + patches + 1) * hidden
                         + (long)config.PatchSize * config.PatchSize * config.NumChannels * hidden;
        var layer = 4 * hidden * hidden + 2 * hidden * intermediate;
        return embeddings + config.NumHiddenLayers * layer;
    }
}

/// <summary>What a request leaves unset gets the Hugging Face VQA guide's recipe.</summary>
public static class TrainingRunDefaults
{
    /// <summary>The guide's epochs.</summary>
    public const int Epochs = 20;

    /// <summary>The guide's batch size.</summary>
    public const int BatchSize = 4;
}
