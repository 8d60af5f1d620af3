using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Indexing.Tests.Support;

namespace VqaPipeline.Indexing.Tests;

/// <summary>
/// <c>vqa jobs submit|status|answers</c> and <c>vqa search</c> as a script runs them: the built CLI as a process,
/// against the real services through the gateway (<c>VQA_API_URL</c>, <c>VQA_API_KEY</c>).
/// </summary>
[Collection(IndexingStackCollection.Name)]
public sealed class CliApiTests(IndexingStack stack)
{
    [StackFact]
    public async Task Jobs_submit_waits_for_the_job_and_answers_streams_what_the_api_exports()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();

        var submitted = await VqaAsync("jobs", "submit", "--collection", collectionId.ToString(), "--question", "Is there a dog?",
            "--question", "How many cats are there?", "--top-k", "2", "--wait", "--json", "--interval", "0.2");

        Assert.True(submitted.ExitCode == 0, submitted.Stderr);
        var job = JsonDocument.Parse(submitted.Stdout).RootElement;
        Assert.Equal(("completed", images.Count, images.Count), (job.GetProperty("status").GetString(), job.GetProperty("total").GetInt32(), job.GetProperty("done").GetInt32()));
        var jobId = job.GetProperty("id").GetGuid();
        Assert.Matches($@"job {jobId}: {images.Count} images in \d+\.\d s.*: completed", submitted.Stderr);

        var status = await VqaAsync("jobs", "status", jobId.ToString());
        Assert.Equal(0, status.ExitCode);
        Assert.StartsWith($"job {jobId} completed: {images.Count} of {images.Count} images answered, 0 failed", status.Stdout);

        var jsonLines = await VqaAsync("jobs", "answers", jobId.ToString());
        Assert.True(jsonLines.ExitCode == 0, jsonLines.Stderr);
        Assert.Equal(await stack.Indexing.GetStringAsync($"/jobs/{jobId}/answers"), jsonLines.Stdout);
        Assert.Equal(images.Count * 2 * 2, jsonLines.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Matches($@"^answers: {images.Count * 4} answers in \d+\.\d s", jsonLines.Stderr);

        var file = Path.Combine(Path.GetTempPath(), $"vqa-answers-{Guid.NewGuid():N}.csv");
        try
        {
            var csv = await VqaAsync("jobs", "answers", jobId.ToString(), "--format", "csv", "-o", file);
            Assert.True(csv.ExitCode == 0, csv.Stderr);
            Assert.Equal("", csv.Stdout);
            Assert.Equal(await stack.Indexing.GetStringAsync($"/jobs/{jobId}/answers?format=csv"), await File.ReadAllTextAsync(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [StackFact]
    public async Task Search_asks_a_question_never_asked_follows_its_job_and_then_ranks_the_images()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        const string question = "What colour is the cat?";

        var first = await VqaAsync("search", "--collection", collectionId.ToString(), "--question", question, "--answer", "yes",
            "--json", "--interval", "0.2");

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("the question was never asked of this collection", first.Stderr);
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(first.Stdout).RootElement.GetProperty("results").ValueKind);

        // The answer the index holds for one image (the job the search started answered every image).
        await using var index = stack.IndexDatabase();
        var best = await index.IndexedAnswers.Where(a => a.CollectionId == collectionId && a.Rank == 1).OrderByDescending(a => a.Score).FirstAsync();
        var ranked = await VqaAsync("search", "--collection", collectionId.ToString(), "-q", question, "--answer", best.Answer,
            "--limit", "50", "--min-score", "0");

        Assert.True(ranked.ExitCode == 0, ranked.Stderr);
        Assert.DoesNotContain("never asked", ranked.Stderr);
        var rows = ranked.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).ToList();
        Assert.Contains(rows, row => row[1] == best.ImageId.ToString() && row[2] == best.FileName);
        var api = await stack.Indexing.GetFromJsonAsync<JsonElement>(
            $"/search?question={Uri.EscapeDataString(question)}&answer={Uri.EscapeDataString(best.Answer)}&collection={collectionId}&limit=50&minScore=0");
        Assert.Equal(api.GetProperty("results").EnumerateArray().Select(hit => hit.GetProperty("imageId").GetGuid().ToString()), rows.Select(row => row[1]));
        Assert.True(images.ContainsKey(best.FileName!));
    }

    [StackFact]
    public async Task Refusals_of_the_api_and_an_api_that_does_not_answer_are_one_error_line_and_exit_1()
    {
        var unknown = Guid.NewGuid();
        var unknownCollection = await VqaAsync("jobs", "submit", "--collection", unknown.ToString(), "-q", "Is there a dog?");
        var unknownJob = await VqaAsync("jobs", "status", unknown.ToString());
        var unknownSearch = await VqaAsync("search", "--collection", unknown.ToString(), "-q", "Is there a dog?");
        var notAnId = await VqaAsync("jobs", "answers", "shoes");
        var unreachable = await VqaAsync("jobs", "status", unknown.ToString(), "--api-url", "http://127.0.0.1:1");

        foreach (var (run, line) in new[]
                 {
                     (unknownCollection, $"error: collection {unknown} does not exist"), (unknownJob, $"error: job {unknown} does not exist"),
                     (unknownSearch, $"error: collection {unknown} does not exist"), (notAnId, "error: 'shoes' is not a job id (a GUID)"),
                     (unreachable, "error: cannot reach the API at http://127.0.0.1:1/"),
                 })
        {
            Assert.Equal(1, run.ExitCode);
            Assert.Equal("", run.Stdout);
            Assert.StartsWith(line, run.Stderr);
            Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    /// <param name="apiKey">The key to send (<c>VQA_API_KEY</c>); none while the gateway asks for none.</param>
    private Task<(int ExitCode, string Stdout, string Stderr)> VqaAsync(params string[] args) => VqaWithKeyAsync(apiKey: null, args);

    private Task<(int ExitCode, string Stdout, string Stderr)> VqaWithKeyAsync(string? apiKey, params string[] args) =>
        VqaProcess.RunAsync(new Dictionary<string, string?>
        {
            ["VQA_API_URL"] = stack.Indexing.BaseAddress!.ToString(),
            // key: stack.ApiKey after auth merges
            ["VQA_API_KEY"] = apiKey,
        }, args);
}
