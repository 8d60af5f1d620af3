using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// <c>vqa search</c>: the images of a collection whose answer to a question is the given one, best first, through the
/// API (<c>VQA_API_URL</c>, <c>VQA_API_KEY</c>). A question never asked of the collection starts a job; the command
/// follows it and then prints the ranking.
/// </summary>
internal static class SearchCommand
{
    public static Command Create(CliConsole console)
    {
        var question = new Option<string>("--question", "-q") { Description = "The question, as asked of the images", Required = true };
        var answer = new Option<string>("--answer", "-a")
        {
            Description = "The answer the images must have", DefaultValueFactory = _ => "yes",
        };
        var collection = new Option<string>("--collection") { Description = "The collection (id) to search", Required = true };
        var limit = new Option<int?>("--limit") { Description = "At most this many images (default: the service's)" };
        var minScore = new Option<double?>("--min-score") { Description = "Only answers scored at least this (0 to 1)" };
        var interval = JobsCommand.Interval();
        var json = CommonOptions.Json();
        var api = new ApiOptions();
        var command = new Command("search",
            "Find the images of a collection whose answer to a question is the given one, best score first; a question " +
            "never asked of the collection is asked first (the job is followed to its end).\n\nExamples:\n" +
            "  vqa search --collection 0b9c… --question \"Is there a dog?\"\n" +
            "  vqa search --collection 0b9c… -q \"What colour is the product?\" --answer red --limit 20 --json")
        {
            question, answer, collection, limit, minScore, interval, json,
        };
        api.AddTo(command);
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var collectionId = JobsCommand.CollectionId(parse.GetValue(collection));
            var query = $"search?question={Uri.EscapeDataString(parse.GetRequiredValue(question))}" +
                        $"&answer={Uri.EscapeDataString(parse.GetRequiredValue(answer))}&collection={collectionId}" +
                        (parse.GetValue(limit) is int most ? $"&limit={most}" : "") +
                        (parse.GetValue(minScore) is double least ? string.Create(CultureInfo.InvariantCulture, $"&minScore={least}") : "");
            var pause = JobsCommand.IntervalOf(parse, interval);
            using var client = api.Connect(parse);
            while (true)
            {
                using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, query), cancellationToken);
                var body = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync(cancellationToken));
                if (response.StatusCode != HttpStatusCode.Accepted)
                    return Print(console, body, parse.GetValue(json));
                // Never asked: a job is answering it; the ranking comes once the job has ended and its answers are indexed.
                var jobId = body.GetProperty("jobId").GetGuid();
                console.Log($"the question was never asked of this collection: job {jobId} is asking it");
                var job = await JobsCommand.FollowAsync(console, parse, client, jobId, pause, cancellationToken);
                if (job.GetProperty("status").GetString() == "cancelled")
                    throw new CliUsageException($"job {jobId}, asking the question, was cancelled");
                await Task.Delay(pause, cancellationToken);
            }
        });
        return command;
    }

    private static int Print(CliConsole console, JsonElement ranking, bool json)
    {
        if (json)
        {
            console.WriteJson(ranking);
            return 0;
        }
        var results = ranking.GetProperty("results").EnumerateArray().ToList();
        console.Log($"{results.Count} images answer '{ranking.GetProperty("answer").GetString()}' to " +
                    $"'{ranking.GetProperty("question").GetString()}' (model {ranking.GetProperty("modelVersion").GetString()})");
        foreach (var hit in results)
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{hit.GetProperty("score").GetDouble():0.0000}\t{hit.GetProperty("imageId").GetGuid()}\t{hit.GetProperty("fileName").GetString()}"));
        return 0;
    }
}
