using System.CommandLine;
using System.Globalization;
using VqaPipeline.Ml.Pipelines;

namespace VqaPipeline.Cli.Commands;

/// <summary><c>vqa ask IMAGE QUESTION</c>: answers with top-k scores, as a table or as the HF pipeline's JSON.</summary>
internal static class AskCommand
{
    public static Command Create(CliConsole console)
    {
        var image = new Argument<string>("image") { Description = "Image path, http(s) URL, data: URI, or - for stdin" };
        var question = new Argument<string?>("question") { Description = "The question", Arity = ArgumentArity.ZeroOrOne };
        var questions = new Option<string[]>("--question", "-q")
        {
            Description = "A question (repeatable); with --json, answers come as [{question, answers}]",
            AllowMultipleArgumentsPerToken = false,
        };
        var questionsFile = new Option<FileInfo?>("--questions-file")
        {
            Description = "A file with one question per line; with --json, answers come as [{question, answers}]",
        };
        var model = CommonOptions.Model();
        var topK = new Option<int>("--top-k", "-k") { Description = "Answers per question", DefaultValueFactory = _ => 5 };
        var batchSize = new Option<int>("--batch-size") { Description = "Questions per forward pass", DefaultValueFactory = _ => 8 };
        var json = CommonOptions.Json();
        var device = CommonOptions.Device();
        var dtype = CommonOptions.DType();
        var runtime = new RuntimeOptions();
        var allowEmulated = CommonOptions.AllowEmulatedBfloat16();
        var generation = new GenerationFlags();

        var command = new Command("ask",
            "Answer questions about an image.\n\nExamples:\n" +
            "  vqa ask cats.png \"How many cats are there?\"\n" +
            "  vqa ask cats.png -q \"What color is the sofa?\" -q \"Is it daytime?\" --json\n" +
            "  curl -s https://example.com/a.jpg | vqa ask - \"What is this?\" --model ./my-vilt\n" +
            "  vqa ask cats.png \"What are the cats doing?\" --model ./blip2-opt-2.7b --max-new-tokens 10\n" +
            "  vqa ask cats.png \"Is there a dog?\" --model ./blip-vqa-base --candidates yes,no --json")
        {
            image, question, questions, questionsFile, model, topK, batchSize, json, device, dtype, allowEmulated,
        };
        runtime.AddTo(command);
        generation.AddTo(command);

        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var positional = parse.GetValue(question);
            var asked = CollectQuestions(positional, parse.GetValue(questions), parse.GetValue(questionsFile));
            if (asked.Count == 0)
                throw new CliUsageException("no question given: pass QUESTION, --question or --questions-file.");
            var k = parse.GetValue(topK);
            if (k < 1) throw new CliUsageException($"--top-k must be at least 1 (got {k}).");
            var batch = parse.GetValue(batchSize);
            if (batch < 1) throw new CliUsageException($"--batch-size must be at least 1 (got {batch}).");
            var generationOptions = generation.Parse(parse);

            var loaded = await ImageSource.LoadAsync(parse.GetRequiredValue(image), cancellationToken);

            using var pipeline = await VqaEngine.FromPretrainedAsync(parse.GetRequiredValue(model), runtime.Apply(parse, new VqaEngineOptions
            {
                Device = parse.GetRequiredValue(device),
                DType = parse.GetRequiredValue(dtype),
                AllowEmulatedBfloat16 = parse.GetValue(allowEmulated),
                BatchSize = batch,
                Hub = console.Hub,
                Generation = generationOptions ?? new GenerationOptions(),
            }), cancellationToken);

            if (pipeline.LoadWarning is { } loadWarning) console.Warn(loadWarning);
            if (pipeline.RuntimeWarning is { } runtimeWarning) console.Warn(runtimeWarning);
            if (generationOptions is not null && !pipeline.IsGenerative)
                throw new CliUsageException(
                    $"{GenerationFlags.Names} apply to generative models (BLIP, BLIP-2); '{parse.GetRequiredValue(model)}' is a ViLT classifier.");
            var results = pipeline.IsGenerative && generationOptions?.Candidates.Count > 0
                ? RankCandidates(pipeline, loaded, asked, generationOptions)
                : pipeline.Ask(loaded, asked, k);
            foreach (var truncated in results.Where(r => r.QuestionTruncated))
                console.Warn($"question truncated to the model's text length: \"{truncated.Question}\"");

            if (!parse.GetValue(json))
                foreach (var result in results) WriteTable(console.Out, result);
            // A lone QUESTION argument answers like Python's pipeline; -q / --questions-file always name each question,
            // so a script's output shape does not depend on how many lines its questions file has.
            else if (asked.Count == 1 && !string.IsNullOrWhiteSpace(positional))
                console.WriteJson(AnswersJson(results[0]));
            else
                console.WriteJson(results.Select(r => new { question = r.Question, answers = AnswersJson(r) }));
            return 0;
        });
        return command;
    }

    /// <summary>Each question's candidates, most probable first, in the shape of a classifier's top-k.</summary>
    private static List<VqaResult> RankCandidates(VqaEngine pipeline, Ml.Imaging.RgbImage image, IReadOnlyList<string> asked,
        GenerationOptions generation)
    {
        foreach (var question in asked)
            if (string.IsNullOrWhiteSpace(question))
                throw new InvalidQuestionException("the question is empty: ask something about the image.");
        using var encoded = pipeline.EncodeImage(image);
        return asked.Select(question =>
        {
            var scores = pipeline.ScoreCandidates(encoded, question, generation.Candidates, generation);
            var ranked = scores.OrderByDescending(p => p.Value).Select(p => new VqaAnswer(p.Key, (float)p.Value)).ToArray();
            return new VqaResult(question, ranked, QuestionTruncated: false);
        }).ToList();
    }

    private static IEnumerable<object> AnswersJson(VqaResult result) =>
        result.Answers.Select(a => new { answer = a.Answer, score = a.Score });

    private static List<string> CollectQuestions(string? positional, string[]? repeated, FileInfo? file)
    {
        var all = new List<string>();
        if (!string.IsNullOrWhiteSpace(positional)) all.Add(positional);
        if (repeated is not null) all.AddRange(repeated);
        if (file is not null)
        {
            if (Directory.Exists(file.FullName))
                throw new CliUsageException($"questions file '{file.FullName}' is a directory, not a file.");
            if (!file.Exists) throw new CliUsageException($"questions file '{file.FullName}' does not exist.");
            all.AddRange(File.ReadAllLines(file.FullName).Where(line => !string.IsNullOrWhiteSpace(line)).Select(line => line.Trim()));
        }
        return all;
    }

    private static void WriteTable(TextWriter output, VqaResult result)
    {
        output.WriteLine(result.Question);
        var width = Math.Max("answer".Length, result.Answers.Max(a => a.Answer.Length));
        output.WriteLine($"  {"#",-2} {"answer".PadRight(width)}  score");
        for (var i = 0; i < result.Answers.Count; i++)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {i + 1,-2} {result.Answers[i].Answer.PadRight(width)}  {result.Answers[i].Score:0.0000}"));
    }
}
