using System.CommandLine;
using VqaPipeline.Ml.Imaging;
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
            Description = "Another question (repeatable)", AllowMultipleArgumentsPerToken = false,
        };
        var questionsFile = new Option<FileInfo?>("--questions-file") { Description = "A file with one question per line" };
        var model = CommonOptions.Model();
        var topK = new Option<int>("--top-k", "-k") { Description = "Answers per question", DefaultValueFactory = _ => 5 };
        var batchSize = new Option<int>("--batch-size") { Description = "Questions per forward pass", DefaultValueFactory = _ => 8 };
        var json = CommonOptions.Json();
        var device = CommonOptions.Device();
        var dtype = CommonOptions.DType();

        var command = new Command("ask",
            "Answer questions about an image.\n\nExamples:\n" +
            "  vqa ask cats.png \"How many cats are there?\"\n" +
            "  vqa ask cats.png -q \"What color is the sofa?\" -q \"Is it daytime?\" --json\n" +
            "  curl -s https://example.com/a.jpg | vqa ask - \"What is this?\" --model ./my-vilt")
        {
            image, question, questions, questionsFile, model, topK, batchSize, json, device, dtype,
        };

        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var asked = CollectQuestions(parse.GetValue(question), parse.GetValue(questions), parse.GetValue(questionsFile));
            if (asked.Count == 0)
                throw new InvalidQuestionException("no question given: pass QUESTION, --question or --questions-file.");
            var k = parse.GetValue(topK);
            if (k < 1) throw new InvalidQuestionException("--top-k must be at least 1.");

            var source = parse.GetRequiredValue(image);
            var loader = new ImageLoader();
            var loaded = source == "-"
                ? loader.LoadBytes(await ReadStandardInputAsync(cancellationToken))
                : await loader.LoadAsync(source, cancellationToken);

            using var pipeline = await Ml.Pipelines.VqaPipeline.FromPretrainedAsync(parse.GetRequiredValue(model), new VqaPipelineOptions
            {
                Device = parse.GetRequiredValue(device),
                DType = parse.GetRequiredValue(dtype),
                BatchSize = Math.Max(1, parse.GetValue(batchSize)),
            }, cancellationToken);

            var results = pipeline.Ask(loaded, asked, k);
            foreach (var truncated in results.Where(r => r.QuestionTruncated))
                console.Warn($"question truncated to the model's text length: \"{truncated.Question}\"");

            if (parse.GetValue(json))
            {
                if (results.Count == 1) console.WriteJson(results[0].Answers.Select(a => new { answer = a.Answer, score = a.Score }));
                else console.WriteJson(results.Select(r => new
                {
                    question = r.Question,
                    answers = r.Answers.Select(a => new { answer = a.Answer, score = a.Score }),
                }));
            }
            else
            {
                foreach (var result in results) WriteTable(console.Out, result);
            }
            return 0;
        });
        return command;
    }

    private static List<string> CollectQuestions(string? positional, string[]? repeated, FileInfo? file)
    {
        var all = new List<string>();
        if (!string.IsNullOrWhiteSpace(positional)) all.Add(positional);
        if (repeated is not null) all.AddRange(repeated);
        if (file is not null)
        {
            if (!file.Exists) throw new InvalidQuestionException($"questions file '{file.FullName}' does not exist.");
            all.AddRange(File.ReadAllLines(file.FullName).Where(line => !string.IsNullOrWhiteSpace(line)).Select(line => line.Trim()));
        }
        return all;
    }

    private static async Task<byte[]> ReadStandardInputAsync(CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using var stdin = Console.OpenStandardInput();
        await stdin.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    private static void WriteTable(TextWriter output, VqaResult result)
    {
        output.WriteLine(result.Question);
        var width = Math.Max(6, result.Answers.Max(a => a.Answer.Length));
        output.WriteLine($"  {"#",-2} {"answer".PadRight(width)}  score");
        for (var i = 0; i < result.Answers.Count; i++)
            output.WriteLine($"  {i + 1,-2} {result.Answers[i].Answer.PadRight(width)}  {result.Answers[i].Score:0.0000}");
    }
}
