using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Evaluation;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Pipelines;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// <c>vqa eval --data D</c>: answers every question of a dataset with a model, writes the official results file
/// <c>[{"question_id", "answer"}]</c> and, where the dataset has human answers, prints the official VQA accuracy.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(CliConsole console)
    {
        var model = CommonOptions.Model();
        var data = new Option<DirectoryInfo>("--data", "-d") { Description = "The dataset folder (any layout `vqa data` reads)", Required = true };
        var output = new Option<FileInfo>("--output", "-o")
        {
            Description = "Where to write the results file", DefaultValueFactory = _ => new FileInfo("results.json"),
        };
        var split = new Option<string?>("--split") { Description = "The split to read when the folder holds several" };
        var onBadExample = CommonOptions.OnBadExample();
        var metric = CommonOptions.Metric();
        var limit = new Option<int?>("--limit") { Description = "Answer only the first N questions" };
        var batchSize = new Option<int>("--batch-size") { Description = "Questions per forward pass", DefaultValueFactory = _ => 8 };
        var json = CommonOptions.Json();
        var device = CommonOptions.Device();
        var dtype = CommonOptions.DType();
        var runtime = new RuntimeOptions();
        var allowEmulated = CommonOptions.AllowEmulatedBfloat16();
        var generation = new GenerationFlags();

        var command = new Command("eval",
            "Answer every question of a dataset, write the official results file and score it with the official VQA accuracy.\n\n" +
            "Examples:\n  vqa eval --model ./my-vilt --data ../shared/fixtures/vqa-v2-sample --output results.json\n" +
            "  vqa data synth --out ./scenes --images 100 --seed 7 && vqa eval --model ./my-vilt --data ./scenes --json\n" +
            "  vqa eval --model ./blip-vqa-base --data ../shared/fixtures/vqa-v2-sample --max-new-tokens 10")
        {
            model, data, output, split, onBadExample, metric, limit, batchSize, json, device, dtype, allowEmulated,
        };
        runtime.AddTo(command);
        generation.AddTo(command);

        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var policy = CommonOptions.ParseOnBadExample(parse.GetRequiredValue(onBadExample));
            var chosenMetric = CommonOptions.ParseMetric(parse.GetRequiredValue(metric));
            var size = parse.GetValue(batchSize);
            if (size < 1) throw new CliUsageException("--batch-size must be at least 1.");
            var maximum = parse.GetValue(limit);
            if (maximum is < 1) throw new CliUsageException("--limit must be at least 1.");
            var generationOptions = generation.Parse(parse);
            if (generationOptions?.Candidates.Count > 0)
                throw new CliUsageException("--candidates ranks given answers in vqa ask; vqa eval scores generated answers.");

            var dataset = VqaDataset.Open(parse.GetRequiredValue(data).FullName,
                new DataOptions { OnBadExample = policy, Split = parse.GetValue(split) });
            using var pipeline = await VqaEngine.FromPretrainedAsync(parse.GetRequiredValue(model), runtime.Apply(parse, new VqaEngineOptions
            {
                Device = parse.GetRequiredValue(device),
                DType = parse.GetRequiredValue(dtype),
                AllowEmulatedBfloat16 = parse.GetValue(allowEmulated),
                BatchSize = size,
                Hub = console.Hub,
                Generation = generationOptions ?? new GenerationOptions(),
            }), cancellationToken);
            if (pipeline.RuntimeWarning is { } runtimeWarning) console.Warn(runtimeWarning);
            if (generationOptions is not null && !pipeline.IsGenerative)
                throw new CliUsageException(
                    $"{GenerationFlags.Names} apply to generative models (BLIP, BLIP-2); '{parse.GetRequiredValue(model)}' is a ViLT classifier.");

            var predictions = new List<VqaPrediction>();
            var annotations = new List<VqaAnnotation>();
            var pending = new List<(VqaExample Example, VqaQuery Query)>();
            var images = new LastImageCache(dataset);
            var progress = console.Progress(parse, "eval", "questions", maximum);
            void AnswerPending()
            {
                var results = pipeline.Ask(pending.Select(p => p.Query).ToArray(), topK: 1);
                for (var i = 0; i < pending.Count; i++)
                    predictions.Add(new VqaPrediction(pending[i].Example.QuestionId, results[i].Answers[0].Answer));
                pending.Clear();
                progress.Report(predictions.Count);
                // Without a bar (stderr redirected, --quiet), a line now and then.
                if (!progress.Live && !parse.GetValue(json) && predictions.Count % (size * 25) == 0) console.Log($"{predictions.Count} questions answered");
            }

            foreach (var example in dataset.Read())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (maximum is int most && predictions.Count + pending.Count >= most) break;
                var image = images.Load(example, policy, console);
                if (image is null) continue;
                pending.Add((example, new VqaQuery(image, example.Question)));
                if (example.Answers.Count > 0) annotations.Add(ToAnnotation(example));
                if (pending.Count == size) AnswerPending();
            }
            if (pending.Count > 0) AnswerPending();
            progress.Finish();
            var skipped = dataset.Skipped.Count + images.Skipped;
            if (skipped > 0) console.Warn($"{skipped} questions skipped (missing or unreadable images).");
            if (predictions.Count == 0) throw new CliUsageException("the dataset has no questions to answer.");

            WriteResultsAtomically(parse.GetRequiredValue(output), predictions);
            if (!parse.GetValue(json)) console.Log($"wrote {predictions.Count} answers to {parse.GetRequiredValue(output).FullName}");

            if (annotations.Count == 0)
            {
                if (parse.GetValue(json)) console.WriteJson(new { answered = predictions.Count });
                else console.Out.WriteLine($"{predictions.Count} questions answered; the dataset has no human answers to score against.");
                return 0;
            }
            var annotated = annotations.Select(a => a.QuestionId).ToHashSet();
            var score = VqaAccuracy.Score(annotations, predictions.Where(p => annotated.Contains(p.QuestionId)).ToArray(), chosenMetric);
            var baseline = MajorityBaseline.Of(annotations, chosenMetric);
            if (parse.GetValue(json))
                console.WriteJson(new
                {
                    answered = predictions.Count,
                    metric = CommonOptions.MetricName(chosenMetric),
                    overall = score.Overall,
                    perAnswerType = score.PerAnswerType,
                    perQuestionType = score.PerQuestionType,
                    majorityBaseline = new
                    {
                        overall = baseline.Score.Overall,
                        perQuestionType = baseline.Score.PerQuestionType,
                        answers = baseline.Answers,
                    },
                });
            else
            {
                console.Out.WriteLine($"Metric: {CommonOptions.MetricDescription(chosenMetric)}");
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Overall Accuracy is: {score.Overall:0.00} ({annotations.Count} questions)"));
                console.Out.WriteLine("Per Answer Type Accuracy:");
                foreach (var (type, accuracy) in score.PerAnswerType)
                    console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {type} : {accuracy:0.00}"));
                console.Out.WriteLine("Per Question Type Accuracy:");
                foreach (var (type, accuracy) in score.PerQuestionType)
                    console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {type} : {accuracy:0.00}"));
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Majority-answer baseline (each question type's most common answer, without looking): {baseline.Score.Overall:0.00}"));
                foreach (var (type, accuracy) in baseline.Score.PerQuestionType)
                    console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {type} : {accuracy:0.00} (\"{baseline.Answers[type]}\")"));
            }
            return 0;
        });
        return command;
    }

    private static VqaAnnotation ToAnnotation(VqaExample example) => new(
        example.QuestionId,
        example.QuestionType ?? VqaEvaluationFiles.UnknownType,
        example.AnswerType ?? VqaEvaluationFiles.UnknownType,
        // VQA v2 numbers each question's ten answers 1..10; the ids keep identical answers distinct annotators.
        example.Answers.Select((answer, index) => new VqaHumanAnswer(answer.Answer, answer.Confidence, index + 1)).ToArray());

    private static void WriteResultsAtomically(FileInfo output, IReadOnlyList<VqaPrediction> predictions)
    {
        output.Directory?.Create();
        var temporary = output.FullName + ".partial";
        using (var stream = File.Create(temporary))
            JsonSerializer.Serialize(stream, predictions.Select(p => new Dictionary<string, object>
            {
                ["question_id"] = p.QuestionId,
                ["answer"] = p.Answer,
            }));
        File.Move(temporary, output.FullName, overwrite: true);
    }

    /// <summary>Questions about one image come together in VQA files: decode each image once, not once per question.</summary>
    private sealed class LastImageCache(VqaDataset dataset)
    {
        private ImageReference? lastReference;
        private RgbImage? lastImage;

        public int Skipped { get; private set; }

        public RgbImage? Load(VqaExample example, BadExamplePolicy policy, CliConsole console)
        {
            if (lastReference is not null && Equals(lastReference, example.Image)) return lastImage;
            try
            {
                lastImage = dataset.LoadImage(example);
                lastReference = example.Image;
                return lastImage;
            }
            catch (BadExampleException error) when (policy == BadExamplePolicy.Skip)
            {
                Skipped++;
                console.Warn(error.Message);
                return null;
            }
        }
    }
}
