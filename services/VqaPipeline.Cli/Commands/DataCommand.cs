using System.CommandLine;
using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Data.Labels;

namespace VqaPipeline.Cli.Commands;

/// <summary><c>vqa data …</c>: look into VQA datasets (official JSON, HF parquet, Graphcore JSON lines, image folders).</summary>
internal static class DataCommand
{
    private const int Listed = 10;

    public static Command Create(CliConsole console) =>
        new("data",
            "Read VQA datasets: official VQA v2 JSON, Hugging Face parquet, Graphcore/vqa JSON lines, or an image folder with metadata.\n\n" +
            "Examples:\n  vqa data synth --out ./scenes --images 200 --seed 1\n  vqa data inspect --data ./vqa-v2-sample\n  vqa data vocab --data ./vqa-v2 --min-answer-count 9 --out vocab.json")
        {
            Inspect(console), Vocab(console), DataSynthCommand.Create(console),
        };

    private static Option<DirectoryInfo> DataOption() => new("--data", "-d")
    {
        Description = "The dataset folder (its layout is recognised by itself)",
        Required = true,
    };

    private static Option<string?> SplitOption() => new("--split")
    {
        Description = "The split to read when the folder holds several (e.g. validation)",
    };

    private static Option<FileInfo?> Id2LabelOption() => new("--id2label")
    {
        Description = "A vocabulary file naming numeric label ids (Graphcore-style data): a config.json, a list, or a map",
    };

    private static Command Inspect(CliConsole console)
    {
        var data = DataOption();
        var split = SplitOption();
        var id2Label = Id2LabelOption();
        var onBadExample = CommonOptions.OnBadExample();
        var limit = new Option<int?>("--limit") { Description = "Look at the first N examples only" };
        var json = CommonOptions.Json();
        var command = new Command("inspect",
            "Recognise a dataset's layout, count its examples, answer and question types, and decode every image.\n\n" +
            "Examples:\n  vqa data synth --out ./scenes --images 200 --seed 1\n  vqa data inspect --data ./vqa-v2-sample\n" +
            "  vqa data inspect --data ./lmms-vqav2 --split validation --limit 1000 --on-bad-example skip --json")
        {
            data, split, id2Label, onBadExample, limit, json,
        };
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var maximum = parse.GetValue(limit);
            if (maximum is < 1) throw new CliUsageException($"--limit must be at least 1 (got {maximum}).");
            var dataset = Open(parse.GetRequiredValue(data), parse.GetValue(split), parse.GetValue(id2Label),
                CommonOptions.ParseOnBadExample(parse.GetRequiredValue(onBadExample)));

            int examples = 0, withAnswers = 0, humanAnswers = 0;
            var answerTypes = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var questionTypes = new SortedDictionary<string, int>(StringComparer.Ordinal);
            await foreach (var (example, _) in dataset.ReadWithImagesAsync(cancellationToken))
            {
                examples++;
                if (example.Answers.Count > 0 || example.GivenLabels is { Count: > 0 }) withAnswers++;
                humanAnswers += example.Answers.Count;
                Tally(answerTypes, example.AnswerType);
                Tally(questionTypes, example.QuestionType);
                if (examples == maximum) break;
            }

            if (parse.GetValue(json))
            {
                console.WriteJson(new
                {
                    directory = dataset.Directory,
                    layout = dataset.Layout.ToString(),
                    files = dataset.Files,
                    examples,
                    examplesWithAnswers = withAnswers,
                    humanAnswers,
                    imagesDecoded = examples,
                    skipped = dataset.Skipped.Count,
                    skippedExamples = dataset.Skipped.Select(s => new { questionId = s.QuestionId, where = s.Where, problem = s.Problem }),
                    answerTypes,
                    questionTypes,
                });
                return 0;
            }
            WarnSkipped(console, dataset.Skipped);
            var output = console.Out;
            output.WriteLine($"data            {dataset.Directory}");
            output.WriteLine($"layout          {dataset.Layout}");
            output.WriteLine($"files           {string.Join(", ", dataset.Files.Select(Path.GetFileName))}");
            output.WriteLine($"examples        {examples} ({withAnswers} with answers, {humanAnswers} human answers)");
            output.WriteLine($"images          {examples} decoded");
            output.WriteLine($"skipped         {dataset.Skipped.Count}");
            output.WriteLine($"answer types    {Describe(answerTypes)}");
            output.WriteLine($"question types  {Describe(questionTypes)}");
            return 0;
        });
        return command;
    }

    private static Command Vocab(CliConsole console)
    {
        var data = DataOption();
        var split = SplitOption();
        var id2Label = Id2LabelOption();
        var minAnswerCount = new Option<int?>("--min-answer-count")
        {
            Description = "Keep answers that are the majority answer of at least N questions (ViLT: 9 over VQA v2 train+val → 3129)",
        };
        var maxAnswers = new Option<int?>("--max-answers") { Description = "Keep the N most frequent answers" };
        var labelMode = new Option<string?>("--labels")
        {
            Description = "normalized (official evaluator's normalization) or as-given (texts verbatim, as the HF guide); " +
                          "default: as-given for Graphcore/vqa data, else normalized",
        }.AcceptOnlyFromAmong("normalized", "as-given");
        var output = new Option<FileInfo>("--out", "-o") { Description = "Where to write the vocabulary (a JSON list of answers, id = position)", Required = true };
        var json = CommonOptions.Json();
        var command = new Command("vocab",
            "Build an answer vocabulary from a dataset's answers: most frequent first, ties in ordinal order.\n\n" +
            "Examples:\n  vqa data vocab --data ./vqa-v2 --min-answer-count 9 --out vocab.json\n" +
            "  vqa data vocab --data ./my-folder --max-answers 3129 --out vocab.json --json")
        {
            data, split, id2Label, minAnswerCount, maxAnswers, labelMode, output, json,
        };
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var (minimum, maximum) = (parse.GetValue(minAnswerCount), parse.GetValue(maxAnswers));
            if (minimum is not null && maximum is not null)
                throw new CliUsageException("pass either --min-answer-count or --max-answers, not both.");
            if (minimum is < 1) throw new CliUsageException($"--min-answer-count must be at least 1 (got {minimum}).");
            if (maximum is < 1) throw new CliUsageException($"--max-answers must be at least 1 (got {maximum}).");
            var outFile = parse.GetRequiredValue(output);
            if (Directory.Exists(outFile.FullName))
                throw new CliUsageException($"--out '{outFile.FullName}' is a directory; name a file.");

            var dataset = Open(parse.GetRequiredValue(data), parse.GetValue(split), parse.GetValue(id2Label), BadExamplePolicy.Skip);
            var mode = parse.GetValue(labelMode) switch
            {
                "normalized" => LabelMode.Normalized,
                "as-given" => LabelMode.AsGiven,
                _ => dataset.Layout == VqaLayout.GraphcoreJsonl ? LabelMode.AsGiven : LabelMode.Normalized,
            };
            var counts = await Task.Run(() => AnswerCounts.Count(dataset.Read(), mode), cancellationToken);
            if (counts.TotalAnswers == 0)
                throw new VqaDataException($"'{dataset.Directory}' has no answers to build a vocabulary from (a test split?).");
            var vocabulary = AnswerVocabulary.Build(counts, new VocabularyOptions
            {
                MinAnswerCount = minimum ?? 1,
                MaxAnswers = maximum,
                Mode = mode,
            });
            var labeler = new SoftScoreLabeler(vocabulary, mode);
            var labeled = await Task.Run(() => labeler.Label(dataset.Read()).Count(), cancellationToken);
            vocabulary.Save(outFile.FullName);

            var countOf = counts.ByFrequency.ToDictionary(entry => entry.Answer, entry => entry.Count, StringComparer.Ordinal);
            if (parse.GetValue(json))
            {
                console.WriteJson(new
                {
                    directory = dataset.Directory,
                    layout = dataset.Layout.ToString(),
                    labelMode = mode == LabelMode.AsGiven ? "as-given" : "normalized",
                    output = outFile.FullName,
                    examples = counts.Examples,
                    distinctAnswers = counts.ByFrequency.Count,
                    answers = vocabulary.Count,
                    examplesLabeled = labeled,
                    examplesDropped = labeler.DroppedCount,
                    skipped = dataset.Skipped.Count,
                    top = vocabulary.Id2Label.Take(Listed).Select(answer => new { answer, count = countOf[answer] }),
                });
                return 0;
            }
            WarnSkipped(console, dataset.Skipped);
            console.Out.WriteLine($"wrote {vocabulary.Count} answers to {outFile.FullName}");
            console.Out.WriteLine($"  {counts.ByFrequency.Count} distinct answers in {counts.Examples} examples ({ModeName(mode)})");
            console.Out.WriteLine($"  {labeled} examples have an answer in the vocabulary; {labeler.DroppedCount} would be dropped from training");
            console.Out.WriteLine($"  most frequent: {string.Join(", ", vocabulary.Id2Label.Take(Listed).Select(a => $"{a} ({countOf[a]})"))}");
            return 0;
        });
        return command;
    }

    private static string ModeName(LabelMode mode) => mode == LabelMode.AsGiven ? "as given" : "normalized";

    private static VqaDataset Open(DirectoryInfo directory, string? split, FileInfo? id2Label, BadExamplePolicy onBadExample) =>
        VqaDataset.Open(directory.FullName, new DataOptions
        {
            Split = split,
            OnBadExample = onBadExample,
            Id2Label = id2Label is null
                ? null
                : AnswerVocabulary.Load(id2Label.FullName).Id2Label.Select((answer, id) => (answer, id)).ToDictionary(p => p.id, p => p.answer),
        });

    private static void Tally(SortedDictionary<string, int> counts, string? key)
    {
        if (key is not null) counts[key] = counts.GetValueOrDefault(key) + 1;
    }

    private static string Describe(SortedDictionary<string, int> counts) =>
        counts.Count == 0
            ? "(not given)"
            : string.Join(", ", counts.OrderByDescending(entry => entry.Value).ThenBy(entry => entry.Key, StringComparer.Ordinal)
                .Select(entry => $"{entry.Key} {entry.Value}"));

    private static void WarnSkipped(CliConsole console, IReadOnlyList<BadExample> skipped)
    {
        foreach (var problem in skipped.Take(Listed)) console.Warn($"skipped {problem}");
        if (skipped.Count > Listed) console.Warn($"… and {skipped.Count - Listed} more skipped");
    }
}
