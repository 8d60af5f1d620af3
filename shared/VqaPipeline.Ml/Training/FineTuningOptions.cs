using VqaPipeline.Ml.Models.Vilt;
namespace VqaPipeline.Ml.Training;

/// <summary>Where the model to fine-tune comes from.</summary>
public abstract record FineTuningModelSource
{
    /// <summary>A ViLT checkpoint folder: its backbone, with a new classifier sized to the vocabulary.</summary>
    public sealed record Backbone(string Folder) : FineTuningModelSource;

    /// <summary>A config.json (every weight initialized like transformers), with the tokenizer and preprocessor files of <paramref name="TokenizerFolder"/>.</summary>
    public sealed record FromConfig(string ConfigPath, string TokenizerFolder) : FineTuningModelSource;
}

/// <summary>
/// A fine-tuning run; the defaults are the Hugging Face VQA guide's recipe (batch 4, 20 epochs, AdamW lr 5e-5, weight
/// decay 0.01) with a linear schedule.
/// </summary>
public sealed record FineTuningOptions
{
    /// <summary>The training dataset folder (any layout <see cref="Data.VqaDataset"/> reads).</summary>
    public required string DataFolder { get; init; }

    /// <summary>Where the final model folder goes; checkpoints go under its <c>checkpoints/</c>.</summary>
    public required string OutputFolder { get; init; }

    /// <summary>Required unless <see cref="Resume"/> finds a checkpoint.</summary>
    public FineTuningModelSource? Model { get; init; }

    /// <summary>A vocabulary file (see <see cref="Data.Labels.AnswerVocabulary.Load"/>); otherwise built from the training data.</summary>
    public string? VocabularyFile { get; init; }

    public int MinAnswerCount { get; init; } = 1;
    public int? MaxAnswers { get; init; }
    public int Epochs { get; init; } = 20;

    /// <summary>Total optimizer steps; overrides <see cref="Epochs"/> when set.</summary>
    public int? MaxSteps { get; init; }

    public int BatchSize { get; init; } = 4;
    public int GradientAccumulation { get; init; } = 1;
    public AdamWOptions AdamW { get; init; } = new();

    /// <summary>Exempt biases and LayerNorm parameters from weight decay, as transformers' Trainer does.</summary>
    public bool NoDecayBiasAndNorm { get; init; }

    public int WarmupSteps { get; init; }
    public long Seed { get; init; }

    /// <summary>
    /// How the image position embeddings of a model started from a configuration begin: zeros (transformers' ViLT) or
    /// MAE's 2-D sine-cosine table (<see cref="ViltInitializer.InitializeImagePositionsSinCos"/>).
    /// </summary>
    public ImagePositionInit ImagePositions { get; init; } = ImagePositionInit.Zeros;

    /// <summary>
    /// Multiplies the sine-cosine table (values in [-1, 1]). Positions must not be small next to the patch contents, or
    /// the model never learns to use them: with transformers' default init (0.02) a 32-pixel patch embeds at about
    /// the table's scale; with <c>initializer_range</c> 0.1 it embeds about five times larger, and 4 works.
    /// </summary>
    public double ImagePositionScale { get; init; } = 1.0;

    /// <summary>Scored every <see cref="EvalEvery"/> steps and at the end when set.</summary>
    public string? EvalDataFolder { get; init; }

    public int? EvalEvery { get; init; }

    /// <summary>Write a resumable checkpoint every this many steps (none when null).</summary>
    public int? SaveEvery { get; init; }

    /// <summary>Keep only the newest this many checkpoints (all when null).</summary>
    public int? KeepLast { get; init; }

    /// <summary>Continue from the newest checkpoint under the output folder.</summary>
    public bool Resume { get; init; }

    /// <summary>Stop (without the final save) after this many steps of this invocation: a run split in parts.</summary>
    public int? StopAfterSteps { get; init; }

    /// <summary>A log line every this many steps (and at the last).</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>Called with each logged step (every <see cref="LogEvery"/> steps and the last), for hosts that report progress.</summary>
    public Action<FineTuningProgress>? Progress { get; init; }

    public string Device { get; init; } = "cpu";
    public string DType { get; init; } = "float32";

    /// <summary>Train in bfloat16 even on a CPU that can only emulate it (see <see cref="Pipelines.VqaEngineOptions.AllowEmulatedBfloat16"/>).</summary>
    public bool AllowEmulatedBfloat16 { get; init; }

    /// <summary>Throws <see cref="FineTuningException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        Require(Epochs >= 1, $"--epochs must be at least 1 (got {Epochs}).");
        Require(MaxSteps is null or >= 1, $"--max-steps must be at least 1 (got {MaxSteps}).");
        Require(BatchSize >= 1, $"--batch-size must be at least 1 (got {BatchSize}).");
        Require(GradientAccumulation >= 1, $"--grad-accum must be at least 1 (got {GradientAccumulation}).");
        Require(AdamW.LearningRate > 0, $"--lr must be positive (got {AdamW.LearningRate}).");
        Require(AdamW.WeightDecay >= 0, $"--weight-decay must not be negative (got {AdamW.WeightDecay}).");
        Require(WarmupSteps >= 0, $"--warmup-steps must not be negative (got {WarmupSteps}).");
        Require(MinAnswerCount >= 1, $"--min-answer-count must be at least 1 (got {MinAnswerCount}).");
        Require(MaxAnswers is null or >= 1, $"--max-answers must be at least 1 (got {MaxAnswers}).");
        Require(SaveEvery is null or >= 1, $"--save-every must be at least 1 (got {SaveEvery}).");
        Require(KeepLast is null or >= 1, $"--keep-last must be at least 1 (got {KeepLast}).");
        Require(EvalEvery is null or >= 1, $"--eval-every must be at least 1 (got {EvalEvery}).");
        Require(EvalEvery is null || EvalDataFolder is not null, "--eval-every needs --eval-data.");
        Require(StopAfterSteps is null or >= 1, $"--stop-after-steps must be at least 1 (got {StopAfterSteps}).");
        Require(LogEvery >= 1, $"--log-every must be at least 1 (got {LogEvery}).");
        Require(double.IsFinite(ImagePositionScale) && ImagePositionScale > 0,
            $"--image-position-scale must be a positive number (got {ImagePositionScale}).");
        Require(ImagePositionScale == 1.0 || ImagePositions == ImagePositionInit.SinCos,
            "--image-position-scale scales the sine-cosine table: it needs --image-positions sincos.");
        Require(VocabularyFile is null || (MinAnswerCount == 1 && MaxAnswers is null),
            "--vocab gives the vocabulary; --min-answer-count and --max-answers only shape a vocabulary built from the data.");
        Require(Model is not null || Resume, "name the model to fine-tune: --model (a ViLT checkpoint) or --from-config with --tokenizer.");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new FineTuningException(message);
    }
}

/// <summary>A fine-tuning run cannot start as asked (a setting out of range, no usable training examples).</summary>
public sealed class FineTuningException(string message) : VqaPipelineException(message);

/// <summary>The starting image position embeddings of a ViLT built from a configuration.</summary>
public enum ImagePositionInit
{
    /// <summary>All zeros, as transformers initializes ViLT.</summary>
    Zeros,

    /// <summary>MAE's fixed 2-D sine-cosine table (rows in half the channels, columns in the other half).</summary>
    SinCos,
}
