using System.Diagnostics;
using System.Globalization;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Data.Labels;
using VqaPipeline.Ml.Data.Synthetic;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Tokenization;
using TorchSharp;
using VqaPipeline.Ml.Training;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>Where a run is after <paramref name="Step"/> optimizer steps: the step's loss and the throughput so far.</summary>
public sealed record FineTuningProgress(int Step, int TotalSteps, float Loss, double ExamplesPerSecond);

/// <summary>A score of the model on the evaluation data: mean loss and the VQA soft score of each top answer.</summary>
public sealed record FineTuningEvaluation(int Step, double Loss, double VqaScore, int Examples);

/// <summary>
/// What a fine-tuning invocation did: <c>Losses</c> holds the loss of each step it ran, <c>ResumedFromStep</c> the
/// checkpoint step it started from (0 for a fresh run), <c>Completed</c> whether it reached the last step and saved the
/// final model folder.
/// </summary>
public sealed record FineTuningResult(
    string OutputFolder, IReadOnlyList<string> Vocabulary, int TrainingExamples, int DroppedExamples,
    int ResumedFromStep, int GlobalStep, int TotalSteps, IReadOnlyList<float> Losses, double ExamplesPerSecond,
    IReadOnlyList<FineTuningEvaluation> Evaluations, bool Completed);

/// <summary>
/// <c>vqa finetune</c>: trains a <see cref="ViltForQuestionAnswering"/> on a VQA dataset with soft-score targets, AdamW
/// and a linear warm-up/decay schedule, writing resumable checkpoints and, at the end, a Hugging Face model folder.
/// Each epoch visits the examples in an order drawn from the seed and the epoch number alone, so a resumed run
/// replays exactly the batches an uninterrupted run would have seen.
/// </summary>
public sealed class ViltFineTuningRun
{
    private const string SourceFilesFolder = ".source";

    private readonly FineTuningOptions options;
    private readonly Action<string> log;
    private readonly Device device;
    private readonly ScalarType dtype;

    private ViltFineTuningRun(FineTuningOptions options, Action<string> log)
    {
        this.options = options;
        this.log = log;
        device = TorchRuntime.ResolveDevice(options.Device);
        dtype = TorchRuntime.ResolveDType(options.DType);
        TorchRuntime.EnsureDTypeRunsAtSpeed(dtype, device, options.AllowEmulatedBfloat16);
    }

    /// <summary>Runs (or resumes) the fine-tuning <paramref name="options"/> describe; progress lines go to <paramref name="log"/>.</summary>
    public static FineTuningResult Run(FineTuningOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        return new ViltFineTuningRun(options, log ?? (_ => { })).Execute(cancellationToken);
    }

    private FineTuningResult Execute(CancellationToken cancellationToken)
    {
        var output = Path.GetFullPath(options.OutputFolder);
        var checkpoint = options.Resume ? NewestCheckpoint(output) : null;
        var examples = ReadExamples(options.DataFolder, "training");
        var (model, config, sourceFiles) = checkpoint is null ? StartModel(examples, output) : ResumeModel(checkpoint.Value.Folder, output);
        using var _ = model;
        model.to(device);
        // Mixed precision: bfloat16 forward and backward, AdamW on float32 masters taken before the cast.
        var masters = dtype == ScalarType.Float32 ? null : AdamW.CaptureMasters(model);
        if (masters is not null) model.to(dtype);

        var vocabulary = AnswerVocabulary.FromLabels(Enumerable.Range(0, config.NumLabels).Select(id => config.Id2Label[id]));
        var labeler = new SoftScoreLabeler(vocabulary);
        var training = labeler.Label(examples).ToList();
        if (labeler.DroppedCount > 0)
            log($"{labeler.DroppedCount} of {examples.Count} training examples dropped: none of their answers is in the vocabulary.");
        if (training.Count == 0)
            throw new FineTuningException($"no training example in '{options.DataFolder}' has an answer in the {vocabulary.Count}-answer vocabulary.");

        var state = checkpoint is null ? FreshState(training.Count) : ResumedState(checkpoint.Value.Folder, training.Count);
        var batches = new BatchMaker(VqaDataset.Open(options.DataFolder), BertTokenizer.FromPretrained(sourceFiles),
            ViltImageProcessor.FromPretrained(sourceFiles), config, device, dtype);
        var evaluation = options.EvalDataFolder is { } evalFolder ? ReadExamples(evalFolder, "evaluation") : null;

        var noDecay = options.NoDecayBiasAndNorm ? ViltTrainer.NoDecayParameterNames(model) : null;
        using var trainer = new ViltTrainer(model, options.AdamW with { LearningRate = state.BaseLearningRate }, noDecay, masters);
        if (checkpoint is not null) TrainingCheckpoints.LoadOptimizer(checkpoint.Value.Folder, trainer.Optimizer);

        var schedule = new LinearSchedule(state.BaseLearningRate, state.WarmupSteps, state.TotalSteps);
        var order = new EpochOrder(state.Seed, training.Count, state.BatchSize);
        var startStep = state.GlobalStep;
        var lastStep = options.StopAfterSteps is int part ? Math.Min(state.TotalSteps, startStep + part) : state.TotalSteps;
        log(startStep == 0
            ? $"training on {training.Count} examples, {vocabulary.Count} answers: {state.TotalSteps} steps of {state.BatchSize * state.GradientAccumulation} examples"
            : $"resuming from step {startStep} of {state.TotalSteps} ({checkpoint!.Value.Folder})");

        var losses = new List<float>();
        var evaluations = new List<FineTuningEvaluation>();
        var clock = Stopwatch.StartNew();
        var examplesSeen = 0;
        for (var step = startStep; step < lastStep; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            trainer.Optimizer.LearningRate = schedule.LearningRate(step);
            // Dropout draws from torch's global generator: seeding it per step makes a resumed step draw as the original did.
            random.manual_seed(state.Seed * 1_000_003 + step);
            trainer.ZeroGradients();
            var loss = 0.0;
            for (var micro = 0; micro < state.GradientAccumulation; micro++)
            {
                var rows = order.Batch((long)step * state.GradientAccumulation + micro).Select(index => training[index]).ToList();
                using var scope = NewDisposeScope();
                var (inputs, labels) = batches.Make(rows);
                loss += trainer.AccumulateGradients(inputs, labels, 1.0 / state.GradientAccumulation);
                examplesSeen += rows.Count;
            }
            trainer.ApplyGradients();
            losses.Add((float)(loss / state.GradientAccumulation));

            var done = step + 1;
            if (done % options.LogEvery == 0 || done == lastStep)
            {
                log(ProgressLine(done, state.TotalSteps, losses[^1], trainer.Optimizer.LearningRate, examplesSeen, done - startStep, lastStep - done, clock.Elapsed));
                options.Progress?.Invoke(new FineTuningProgress(done, state.TotalSteps, losses[^1],
                    examplesSeen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9)));
            }
            if (options.SaveEvery is int every && done % every == 0)
            {
                var folder = TrainingCheckpoints.Write(output, model, config, trainer.Optimizer, state with { GlobalStep = done },
                    sourceFiles, sourceFiles, options.KeepLast);
                log($"saved checkpoint {folder}");
            }
            if (evaluation is not null && (options.EvalEvery is int evalEvery && done % evalEvery == 0 || done == state.TotalSteps))
                evaluations.Add(Evaluate(model, batches, labeler, evaluation, done));
        }

        var completed = lastStep == state.TotalSteps;
        if (completed)
        {
            if (masters is not null)
            {
                // The saved model is the float32 masters, not their bfloat16 rounding.
                model.to(ScalarType.Float32);
                trainer.Optimizer.CopyMastersTo(model);
            }
            SaveFinalModel(model, config, output, sourceFiles);
            log($"saved the fine-tuned model to {output}");
        }
        var throughput = examplesSeen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        return new FineTuningResult(output, vocabulary.Id2Label, training.Count, labeler.DroppedCount, startStep, lastStep,
            state.TotalSteps, losses, throughput, evaluations, completed);
    }

    private static (int Step, string Folder)? NewestCheckpoint(string output)
    {
        var checkpoints = TrainingCheckpoints.List(output);
        if (checkpoints.Count == 0)
            throw new TrainingCheckpointException(
                $"--resume: '{Path.Combine(output, TrainingCheckpoints.FolderName)}' holds no checkpoint; start without --resume (use --save-every to write checkpoints).");
        return checkpoints[^1];
    }

    private static List<VqaExample> ReadExamples(string folder, string role)
    {
        if (!Directory.Exists(folder))
            throw new FineTuningException($"the {role} data folder '{folder}' does not exist.");
        var examples = VqaDataset.Open(folder).Read().ToList();
        if (examples.Count == 0) throw new FineTuningException($"the {role} data folder '{folder}' holds no questions.");
        return examples;
    }

    private AnswerVocabulary BuildVocabulary(IReadOnlyList<VqaExample> examples)
    {
        var vocabulary = options.VocabularyFile is { } file
            ? AnswerVocabulary.Load(file)
            : AnswerVocabulary.Build(examples, new VocabularyOptions { MinAnswerCount = options.MinAnswerCount, MaxAnswers = options.MaxAnswers });
        if (vocabulary.Count == 0)
            throw new FineTuningException(options.VocabularyFile is { } given
                ? $"the vocabulary file '{given}' lists no answers."
                : $"the answer vocabulary is empty: no answer of '{options.DataFolder}' is given by at least {options.MinAnswerCount} questions (lower --min-answer-count or give --vocab).");
        return vocabulary;
    }

    private (ViltForQuestionAnswering, ViltConfig, string) StartModel(IReadOnlyList<VqaExample> examples, string output)
    {
        var vocabulary = BuildVocabulary(examples);
        switch (options.Model)
        {
            case FineTuningModelSource.Backbone backbone:
            {
                var start = ViltFineTuning.FromBackbone(backbone.Folder, vocabulary.Id2Label, options.Seed);
                if (start.LoadMessage.Length > 0) log(start.LoadMessage.TrimEnd());
                return (start.Model, start.Config, CopySourceFiles(backbone.Folder, backbone.Folder, output));
            }
            case FineTuningModelSource.FromConfig fromConfig:
            {
                var config = LoadConfigFile(fromConfig.ConfigPath);
                config.Id2Label = vocabulary.Id2Label.Select((answer, id) => (answer, id)).ToDictionary(p => p.id, p => p.answer);
                config.Label2Id = vocabulary.Label2Id.ToDictionary(p => p.Key, p => p.Value);
                var model = new ViltForQuestionAnswering(config);
                ViltInitializer.Initialize(model, config, options.Seed);
                if (options.ImagePositions == ImagePositionInit.SinCos)
                    ViltInitializer.InitializeImagePositionsSinCos(model, options.ImagePositionScale);
                return (model, config, CopySourceFiles(fromConfig.TokenizerFolder, fromConfig.TokenizerFolder, output));
            }
            default:
                throw new FineTuningException("name the model to fine-tune: --model (a ViLT checkpoint) or --from-config with --tokenizer.");
        }
    }

    private (ViltForQuestionAnswering, ViltConfig, string) ResumeModel(string checkpoint, string output)
    {
        var config = ModelConfig.Load<ViltConfig>(checkpoint);
        var model = new ViltForQuestionAnswering(config);
        using (var weights = CheckpointReader.ReadFolder(checkpoint))
        {
            var report = ModuleWeights.Load(model, weights, new LoadOptions { BaseModelPrefix = ViltForQuestionAnswering.BaseModelPrefix });
            if (!report.IsComplete)
                throw new TrainingCheckpointException($"the checkpoint '{checkpoint}' does not hold every weight of the model; it cannot be resumed from.");
        }
        return (model, config, CopySourceFiles(checkpoint, checkpoint, output));
    }

    /// <summary>ModelConfig reads a folder's config.json; a config file of another name is read through a copy.</summary>
    private static ViltConfig LoadConfigFile(string path)
    {
        if (!File.Exists(path)) throw new FineTuningException($"the config file '{path}' does not exist.");
        var folder = Directory.CreateTempSubdirectory("vqa-config-").FullName;
        try
        {
            File.Copy(path, Path.Combine(folder, "config.json"));
            return ModelConfig.Load<ViltConfig>(folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// The tokenizer and preprocessor files, copied once under the output folder: every checkpoint and the final model
    /// carry them, and a resumed run still has them after older checkpoints are pruned.
    /// </summary>
    private static string CopySourceFiles(string tokenizerFolder, string preprocessorFolder, string output)
    {
        var target = Path.Combine(output, TrainingCheckpoints.FolderName, SourceFilesFolder);
        var staging = target + $".{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        CopyPresent(tokenizerFolder, staging, ViltCheckpointWriter.TokenizerFileNames, "vocab.txt");
        CopyPresent(preprocessorFolder, staging, [ViltCheckpointWriter.PreprocessorFileName], ViltCheckpointWriter.PreprocessorFileName);
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        Directory.Move(staging, target);
        return target;
    }

    private static void CopyPresent(string source, string destination, IEnumerable<string> names, string required)
    {
        if (!File.Exists(Path.Combine(source, required)))
            throw new FineTuningException($"'{source}' has no {required}: point --tokenizer (or --model) at a folder with the tokenizer and preprocessor files.");
        foreach (var name in names.Where(name => File.Exists(Path.Combine(source, name))))
            File.Copy(Path.Combine(source, name), Path.Combine(destination, name), overwrite: true);
    }

    private TrainingState FreshState(int trainingExamples)
    {
        var batchesPerEpoch = (trainingExamples + options.BatchSize - 1) / options.BatchSize;
        var totalSteps = options.MaxSteps ?? (int)Math.Ceiling((double)options.Epochs * batchesPerEpoch / options.GradientAccumulation);
        return new TrainingState(0, totalSteps, options.Seed, options.BatchSize, options.GradientAccumulation, trainingExamples,
            options.WarmupSteps, options.AdamW.LearningRate);
    }

    /// <summary>The checkpoint fixes the data order and schedule; only a larger --max-steps extends the run.</summary>
    private TrainingState ResumedState(string checkpoint, int trainingExamples)
    {
        var state = TrainingCheckpoints.ReadState(checkpoint);
        if (state.TrainingExamples != trainingExamples)
            throw new TrainingCheckpointException(
                $"the checkpoint was trained on {state.TrainingExamples} examples but '{options.DataFolder}' now gives {trainingExamples}; resume with the same data.");
        return options.MaxSteps is int steps && steps > state.GlobalStep ? state with { TotalSteps = steps } : state;
    }

    private static string ProgressLine(int step, int total, float loss, double learningRate, int examples, int stepsThisRun,
        int remaining, TimeSpan elapsed)
    {
        var perStep = elapsed.TotalSeconds / Math.Max(1, stepsThisRun);
        var eta = TimeSpan.FromSeconds(perStep * remaining);
        return string.Create(CultureInfo.InvariantCulture,
            $"step {step}/{total}  loss {loss:0.0000}  lr {learningRate:0.000e0}  {examples / Math.Max(elapsed.TotalSeconds, 1e-9):0.0} examples/s  ETA {eta:hh\\:mm\\:ss}");
    }

    private FineTuningEvaluation Evaluate(ViltForQuestionAnswering model, BatchMaker batches, SoftScoreLabeler labeler,
        IReadOnlyList<VqaExample> examples, int step)
    {
        model.eval();
        using var noGrad = no_grad();
        double lossSum = 0, scoreSum = 0;
        foreach (var chunk in examples.Chunk(options.BatchSize))
        {
            using var scope = NewDisposeScope();
            var rows = chunk.Select(example => (example, labeler.Target(example) ?? new SoftTarget([], []))).ToList();
            var (inputs, labels) = batches.Make(rows);
            var logits = model.forward(inputs).Logits;
            lossSum += ViltQuestionAnsweringLoss.Compute(logits, labels).item<float>() * chunk.Length;
            scoreSum += labels.gather(1, logits.argmax(1).unsqueeze(1)).sum().item<float>();
        }
        var result = new FineTuningEvaluation(step, lossSum / examples.Count, scoreSum / examples.Count, examples.Count);
        log(string.Create(CultureInfo.InvariantCulture,
            $"eval at step {step}: loss {result.Loss:0.0000}  vqa score {result.VqaScore:0.0000} ({result.Examples} questions)"));
        return result;
    }

    /// <summary>The final model folder goes into the output folder beside checkpoints/, file by file, each replaced atomically.</summary>
    private static void SaveFinalModel(ViltForQuestionAnswering model, ViltConfig config, string output, string sourceFiles)
    {
        var staging = Path.Combine(output, $".final-{Guid.NewGuid():N}");
        try
        {
            ViltCheckpointWriter.SavePretrained(model, config, staging, sourceFiles, sourceFiles);
            foreach (var file in Directory.GetFiles(staging))
                File.Move(file, Path.Combine(output, Path.GetFileName(file)), overwrite: true);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Epoch e's order is a SplitMix64 shuffle seeded by (seed, e); batches run through the epochs back to back.</summary>
    private sealed class EpochOrder(long seed, int examples, int batchSize)
    {
        private readonly int batchesPerEpoch = (examples + batchSize - 1) / batchSize;
        private (long Epoch, int[] Order)? cached;

        public IEnumerable<int> Batch(long index)
        {
            var epoch = index / batchesPerEpoch;
            var start = (int)(index % batchesPerEpoch) * batchSize;
            var order = OrderOf(epoch);
            return order[start..Math.Min(examples, start + batchSize)];
        }

        private int[] OrderOf(long epoch)
        {
            if (cached is { } hit && hit.Epoch == epoch) return hit.Order;
            var order = Enumerable.Range(0, examples).ToArray();
            new SplitMix64(unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)epoch)).Shuffle(order);
            cached = (epoch, order);
            return order;
        }
    }

    /// <summary>Tokenized questions (padded to the longest, truncated to max_position_embeddings), pixels and dense soft targets.</summary>
    private sealed class BatchMaker(VqaDataset dataset, BertTokenizer tokenizer, ViltImageProcessor processor, ViltConfig config,
        Device device, ScalarType dtype)
    {
        public (ViltInputs Inputs, Tensor Labels) Make(IReadOnlyList<(VqaExample Example, SoftTarget Target)> rows)
        {
            var encodings = tokenizer.EncodeBatch(rows.Select(row => row.Example.Question).ToArray(), maxLength: config.MaxPositionEmbeddings, truncate: true);
            long count = rows.Count, length = encodings[0].Length;
            var images = processor.Preprocess(rows.Select(row => dataset.LoadImage(row.Example)).ToArray());
            var labels = rows.SelectMany(row => row.Target.ToDense(config.NumLabels)).ToArray();
            var inputs = new ViltInputs(
                tensor(encodings.SelectMany(e => e.InputIds.Select(id => (long)id)).ToArray(), [count, length], device: device),
                tensor(encodings.SelectMany(e => e.AttentionMask.Select(id => (long)id)).ToArray(), [count, length], device: device),
                tensor(encodings.SelectMany(e => e.TokenTypeIds.Select(id => (long)id)).ToArray(), [count, length], device: device),
                tensor(images.PixelValues, [count, 3, images.Height, images.Width], device: device).to(dtype),
                images.PixelMask is { } mask
                    ? tensor(mask, [count, images.Height, images.Width], device: device)
                    : ones(count, images.Height, images.Width, dtype: ScalarType.Int64, device: device));
            return (inputs, tensor(labels, [count, config.NumLabels], device: device));
        }
    }
}
