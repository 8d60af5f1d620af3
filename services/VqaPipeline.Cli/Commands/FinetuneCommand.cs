using System.CommandLine;
using System.Globalization;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Training;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// <c>vqa finetune --data D --out O</c>: fine-tunes ViLT on a VQA dataset (the Hugging Face VQA guide's recipe by
/// default), with resumable checkpoints, and leaves a model folder that <c>vqa ask --model O</c> loads.
/// </summary>
internal static class FinetuneCommand
{
    public static Command Create(CliConsole console)
    {
        var data = new Option<DirectoryInfo>("--data", "-d") { Description = "The training dataset folder (any layout `vqa data` reads)", Required = true };
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "Where the fine-tuned model folder (and checkpoints/) goes", Required = true };
        var model = new Option<string?>("--model", "-m") { Description = "A ViLT checkpoint folder or Hub id: its backbone, with a new head sized to the vocabulary" };
        var fromConfig = new Option<FileInfo?>("--from-config") { Description = "A ViLT config.json: every weight newly initialized (needs --tokenizer)" };
        var imagePositions = new Option<string>("--image-positions")
        {
            Description = "With --from-config: how the image position embeddings start: zeros (transformers' ViLT) or sincos (MAE's 2-D table; lets a model trained from scratch learn where things are)",
            DefaultValueFactory = _ => "zeros",
        }.AcceptOnlyFromAmong("zeros", "sincos");
        var imagePositionScale = new Option<double>("--image-position-scale")
        {
            Description = "With --image-positions sincos: multiply the table by this (positions as large as the patch embeddings are learned; 4 with initializer_range 0.1)",
            DefaultValueFactory = _ => 1.0,
        };
        var tokenizer = new Option<DirectoryInfo?>("--tokenizer") { Description = "Folder with the tokenizer and preprocessor files, for --from-config" };
        var vocab = new Option<FileInfo?>("--vocab") { Description = "An answer vocabulary file (otherwise built from the training data)" };
        var minAnswerCount = new Option<int>("--min-answer-count") { Description = "Keep answers that at least N questions have as their answer", DefaultValueFactory = _ => 1 };
        var maxAnswers = new Option<int?>("--max-answers") { Description = "Keep at most N answers, the most frequent" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training data", DefaultValueFactory = _ => 20 };
        var maxSteps = new Option<int?>("--max-steps") { Description = "Total optimizer steps (overrides --epochs)" };
        var stopAfter = new Option<int?>("--stop-after-steps") { Description = "Stop this invocation after N steps (continue later with --resume)" };
        var batchSize = new Option<int>("--batch-size") { Description = "Examples per micro-batch", DefaultValueFactory = _ => 4 };
        var gradAccum = new Option<int>("--grad-accum") { Description = "Micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var learningRate = new Option<double>("--lr") { Description = "Peak AdamW learning rate", DefaultValueFactory = _ => 5e-5 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => 0.01 };
        var noDecay = new Option<bool>("--no-decay-bias-norm") { Description = "No weight decay on biases and LayerNorm parameters" };
        var warmup = new Option<int>("--warmup-steps") { Description = "Linear warm-up steps before the linear decay to 0", DefaultValueFactory = _ => 0 };
        var seed = new Option<long>("--seed") { Description = "Fixes initialization, data order and dropout", DefaultValueFactory = _ => 0 };
        var evalData = new Option<DirectoryInfo?>("--eval-data") { Description = "A dataset scored during and after training" };
        var evalEvery = new Option<int?>("--eval-every") { Description = "Score --eval-data every N steps" };
        var saveEvery = new Option<int?>("--save-every") { Description = "Write a resumable checkpoint every N steps" };
        var keepLast = new Option<int?>("--keep-last") { Description = "Keep only the newest K checkpoints" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint under --out" };
        var logEvery = new Option<int>("--log-every") { Description = "A progress line every N steps", DefaultValueFactory = _ => 10 };
        var device = CommonOptions.Device();
        var dtype = CommonOptions.DType();
        var allowEmulated = CommonOptions.AllowEmulatedBfloat16();

        var command = new Command("finetune",
            "Fine-tune ViLT for visual question answering: soft-score targets, AdamW, linear warm-up and decay.\n\n" +
            "Examples:\n  vqa data synth --out ./scenes --images 200 && vqa finetune --data ./scenes --out ./my-vilt --model dandelin/vilt-b32-mlm\n" +
            "  vqa finetune --data ./scenes --out ./my-vilt --resume")
        {
            data, output, model, fromConfig, imagePositions, imagePositionScale, tokenizer, vocab, minAnswerCount, maxAnswers, epochs, maxSteps, stopAfter,
            batchSize, gradAccum, learningRate, weightDecay, noDecay, warmup, seed, evalData, evalEvery, saveEvery,
            keepLast, resume, logEvery, device, dtype, allowEmulated,
        };

        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var modelSource = await ModelSourceAsync(parse.GetValue(model), parse.GetValue(fromConfig), parse.GetValue(tokenizer),
                parse.GetValue(resume), console.Hub, cancellationToken);
            var options = new FineTuningOptions
            {
                DataFolder = parse.GetRequiredValue(data).FullName,
                OutputFolder = parse.GetRequiredValue(output).FullName,
                Model = modelSource,
                VocabularyFile = parse.GetValue(vocab)?.FullName,
                MinAnswerCount = parse.GetValue(minAnswerCount),
                MaxAnswers = parse.GetValue(maxAnswers),
                Epochs = parse.GetValue(epochs),
                MaxSteps = parse.GetValue(maxSteps),
                StopAfterSteps = parse.GetValue(stopAfter),
                BatchSize = parse.GetValue(batchSize),
                GradientAccumulation = parse.GetValue(gradAccum),
                AdamW = new AdamWOptions { LearningRate = parse.GetValue(learningRate), WeightDecay = parse.GetValue(weightDecay) },
                NoDecayBiasAndNorm = parse.GetValue(noDecay),
                WarmupSteps = parse.GetValue(warmup),
                Seed = parse.GetValue(seed),
                ImagePositions = parse.GetRequiredValue(imagePositions) == "sincos" ? ImagePositionInit.SinCos : ImagePositionInit.Zeros,
                ImagePositionScale = parse.GetValue(imagePositionScale),
                EvalDataFolder = parse.GetValue(evalData)?.FullName,
                EvalEvery = parse.GetValue(evalEvery),
                SaveEvery = parse.GetValue(saveEvery),
                KeepLast = parse.GetValue(keepLast),
                Resume = parse.GetValue(resume),
                LogEvery = parse.GetValue(logEvery),
                Device = parse.GetRequiredValue(device),
                DType = parse.GetRequiredValue(dtype),
                AllowEmulatedBfloat16 = parse.GetValue(allowEmulated),
            };
            var progress = console.Progress(parse, "finetune", "steps");
            options = options with { Progress = step => progress.Report(step.Step, step.TotalSteps) };
            var result = await Task.Run(() => ViltFineTuningRun.Run(options, progress.WriteLine, cancellationToken), cancellationToken);
            progress.Finish(result.Completed ? null : "stopped early");
            console.Out.WriteLine(result.Completed
                ? string.Create(CultureInfo.InvariantCulture,
                    $"fine-tuned {result.GlobalStep} steps ({result.ExamplesPerSecond:0.0} examples/s); model saved to {result.OutputFolder}")
                : $"stopped at step {result.GlobalStep} of {result.TotalSteps}; continue with --resume");
            return 0;
        });
        return command;
    }

    private static async Task<FineTuningModelSource?> ModelSourceAsync(string? model, FileInfo? fromConfig, DirectoryInfo? tokenizer,
        bool resume, HubOptions hub, CancellationToken cancellationToken)
    {
        if (model is not null && fromConfig is not null)
            throw new CliUsageException("give either --model or --from-config, not both.");
        if (fromConfig is not null)
            return tokenizer is null
                ? throw new CliUsageException("--from-config needs --tokenizer: the folder with the tokenizer and preprocessor files.")
                : new FineTuningModelSource.FromConfig(fromConfig.FullName, tokenizer.FullName);
        if (tokenizer is not null) throw new CliUsageException("--tokenizer goes with --from-config; a --model folder has its own tokenizer.");
        if (model is null) return resume ? null : throw new CliUsageException("name the model to fine-tune: --model (a ViLT checkpoint) or --from-config with --tokenizer.");
        return new FineTuningModelSource.Backbone(await ModelResolver.ResolveAsync(model, hub, cancellationToken));
    }
}
