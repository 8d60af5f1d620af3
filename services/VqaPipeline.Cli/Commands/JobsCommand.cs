using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// <c>vqa jobs submit|status|answers</c>: question jobs through the API (<c>VQA_API_URL</c>, <c>VQA_API_KEY</c>) —
/// ask questions of every image of a collection, follow the job, and stream its answers.
/// </summary>
internal static class JobsCommand
{
    private static readonly string[] EndStates = ["completed", "failed", "cancelled"];

    public static Command Create(CliConsole console) =>
        new("jobs",
            "Question jobs on the services (settings: VQA_API_URL, VQA_API_KEY).\n\nExamples:\n" +
            "  vqa jobs submit --collection 0b9c… --question \"What colour is the product?\" --wait\n" +
            "  vqa jobs status 5d1e… --wait\n  vqa jobs answers 5d1e… --format csv -o answers.csv")
        {
            Submit(console), Status(console), Answers(console),
        };

    private static Command Submit(CliConsole console)
    {
        var collection = new Option<string>("--collection") { Description = "The collection (id) whose images are asked", Required = true };
        var questions = new Option<string[]>("--question", "-q")
        {
            Description = "A question to ask of every image (repeat for more)", Required = true, AllowMultipleArgumentsPerToken = false,
        };
        var model = new Option<string?>("--model", "-m") { Description = "The model (default: the service's default model)" };
        var topK = new Option<int?>("--top-k") { Description = "Answers kept per image and question (default: the service's)" };
        var wait = new Option<bool>("--wait") { Description = "Follow the job to its end (a progress bar on a terminal)" };
        var interval = Interval();
        var json = CommonOptions.Json();
        var api = new ApiOptions();
        var command = new Command("submit",
            "Ask one or more questions of every image of a collection; prints the job's id (with --wait, its end).\n\n" +
            "Example:\n  vqa jobs submit --collection 0b9c… -q \"Is there a dog?\" -q \"What colour is it?\" --wait")
        {
            collection, questions, model, topK, wait, interval, json,
        };
        api.AddTo(command);
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var collectionId = CollectionId(parse.GetValue(collection));
            using var client = api.Connect(parse);
            var accepted = await client.PostAsync<JsonElement>("jobs", new
            {
                collectionId, questions = parse.GetRequiredValue(questions), model = parse.GetValue(model), topK = parse.GetValue(topK),
            }, cancellationToken);
            var jobId = accepted.GetProperty("id").GetGuid();
            if (!parse.GetValue(wait))
            {
                if (parse.GetValue(json)) console.WriteJson(accepted);
                else console.Out.WriteLine(jobId);
                return 0;
            }
            console.Log($"job {jobId} submitted");
            var job = await FollowAsync(console, parse, client, jobId, IntervalOf(parse, interval), cancellationToken);
            return Report(console, job, parse.GetValue(json));
        });
        return command;
    }

    private static Command Status(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The job's id" };
        var wait = new Option<bool>("--wait") { Description = "Follow the job to its end (a progress bar on a terminal)" };
        var interval = Interval();
        var json = CommonOptions.Json();
        var api = new ApiOptions();
        var command = new Command("status",
            "Show a job: its state, how many images are answered, the time left.\n\nExamples:\n  vqa jobs status 5d1e…\n  vqa jobs status 5d1e… --wait --json")
        {
            id, wait, interval, json,
        };
        api.AddTo(command);
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var jobId = JobId(parse.GetRequiredValue(id));
            using var client = api.Connect(parse);
            var job = parse.GetValue(wait)
                ? await FollowAsync(console, parse, client, jobId, IntervalOf(parse, interval), cancellationToken)
                : await client.GetAsync<JsonElement>($"jobs/{jobId}", cancellationToken);
            return Report(console, job, parse.GetValue(json), failOnEnd: parse.GetValue(wait));
        });
        return command;
    }

    private static Command Answers(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The job's id" };
        var format = new Option<string>("--format")
        {
            Description = "jsonl: one JSON object per answer; csv: a header, then one row per answer",
            DefaultValueFactory = _ => "jsonl",
        }.AcceptOnlyFromAmong("jsonl", "csv");
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write to this file (default: stdout)" };
        var api = new ApiOptions();
        var command = new Command("answers",
            "Stream a job's answers (every image, question and rank) as JSON lines or CSV.\n\nExamples:\n" +
            "  vqa jobs answers 5d1e… > answers.jsonl\n  vqa jobs answers 5d1e… --format csv -o answers.csv")
        {
            id, format, output,
        };
        api.AddTo(command);
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var jobId = JobId(parse.GetRequiredValue(id));
            var csv = parse.GetRequiredValue(format) == "csv";
            using var client = api.Connect(parse);
            using var response = await client.SendAsync(
                new HttpRequestMessage(HttpMethod.Get, $"jobs/{jobId}/answers?format={(csv ? "csv" : "jsonl")}"), cancellationToken);
            var file = parse.GetValue(output);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var reader = new StreamReader(body);
            await using var fileWriter = file is null ? null : new StreamWriter(file.FullName);
            var writer = fileWriter ?? console.Out;
            var progress = console.Progress(parse, "answers", "answers");
            var header = csv;
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                await writer.WriteLineAsync(line);
                if (header)
                    header = false;
                else
                    progress.Increment();
            }
            await writer.FlushAsync(cancellationToken);
            progress.Finish(file is null ? null : $"written to {file.FullName}");
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Polls the job until it ends, with a progress bar of its images (answered or failed of all); returns its last state.
    /// </summary>
    internal static async Task<JsonElement> FollowAsync(CliConsole console, ParseResult parse, ApiClient client, Guid jobId,
        TimeSpan interval, CancellationToken cancellationToken)
    {
        var progress = console.Progress(parse, $"job {jobId}", "images");
        while (true)
        {
            var job = await client.GetAsync<JsonElement>($"jobs/{jobId}", cancellationToken);
            var state = job.GetProperty("status").GetString()!;
            progress.Report(job.GetProperty("done").GetInt64() + job.GetProperty("failed").GetInt64(), job.GetProperty("total").GetInt64());
            if (EndStates.Contains(state))
            {
                progress.Finish(state);
                return job;
            }
            await Task.Delay(interval, cancellationToken);
        }
    }

    /// <summary>Prints the job (its JSON, or a line); a job that ended other than completed is an error when <paramref name="failOnEnd"/>.</summary>
    private static int Report(CliConsole console, JsonElement job, bool json, bool failOnEnd = true)
    {
        var id = job.GetProperty("id").GetGuid();
        var state = job.GetProperty("status").GetString();
        if (json)
            console.WriteJson(job);
        else
            console.Out.WriteLine(Describe(job));
        if (failOnEnd && state is "failed" or "cancelled")
        {
            var reason = job.TryGetProperty("failureReason", out var why) && why.ValueKind == JsonValueKind.String ? $": {why.GetString()}" : "";
            throw new CliUsageException($"job {id} {state}{reason}");
        }
        return 0;
    }

    private static string Describe(JsonElement job)
    {
        var eta = job.TryGetProperty("etaSeconds", out var seconds) && seconds.ValueKind == JsonValueKind.Number && job.GetProperty("status").GetString() == "running"
            ? string.Create(CultureInfo.InvariantCulture, $", about {seconds.GetDouble():0} s left")
            : "";
        var model = job.TryGetProperty("modelVersion", out var version) && version.ValueKind == JsonValueKind.String
            ? version.GetString()
            : job.GetProperty("model").GetString();
        return $"job {job.GetProperty("id").GetGuid()} {job.GetProperty("status").GetString()}: {job.GetProperty("done").GetInt32()} of " +
               $"{job.GetProperty("total").GetInt32()} images answered, {job.GetProperty("failed").GetInt32()} failed{eta} (model {model})";
    }

    internal static Option<double> Interval() => new("--interval")
    {
        Description = "Seconds between progress checks", DefaultValueFactory = _ => 1,
    };

    internal static TimeSpan IntervalOf(ParseResult parse, Option<double> interval) =>
        parse.GetValue(interval) is var seconds and > 0 and <= 3600
            ? TimeSpan.FromSeconds(seconds)
            : throw new CliUsageException($"--interval {parse.GetValue(interval)} is not between 0 and 3600 seconds");

    internal static Guid CollectionId(string? text) => Guid.TryParse(text, out var id)
        ? id
        : throw new CliUsageException($"--collection '{text}' is not a collection id (a GUID)");

    private static Guid JobId(string text) => Guid.TryParse(text, out var id)
        ? id
        : throw new CliUsageException($"'{text}' is not a job id (a GUID)");
}
