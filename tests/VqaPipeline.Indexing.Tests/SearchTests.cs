using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Indexing.Tests.Support;

namespace VqaPipeline.Indexing.Tests;

/// <summary>GET /search over answers indexed from AnswersProduced, against the real servers.</summary>
[Collection(IndexingStackCollection.Name)]
public sealed class SearchTests(IndexingStack stack)
{
    private const string Question = "Is there a dog?";
    private static readonly string[] Questions = [Question, "What colour is the car?"];

    [StackFact]
    public async Task Search_returns_exactly_the_matching_images_ranked_by_score_for_the_latest_or_named_model()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        var (otherCollectionId, otherImages) = await stack.NewCollectionWithFixtureImagesAsync();
        var older = Answers.For(collectionId, images.Values, Questions, "tiny@1", seed: 1, producedAt: DateTimeOffset.UtcNow.AddMinutes(-5));
        var newer = Answers.For(collectionId, images.Values, Questions, "tiny@2", seed: 2);
        var other = Answers.For(otherCollectionId, otherImages.Values, Questions, "tiny@2", seed: 3);
        await stack.ProduceAsync([.. older, .. newer, .. other]);
        await WaitForIndexedAsync(collectionId, 2 * images.Count * Questions.Length * 3);

        foreach (var (answer, minScore, limit, version) in new[]
                 {
                     ("yes", 0.0, 50, (string?)null), ("no", 0.0, 50, null), ("yes", 0.3, 50, null), ("dog", 0.0, 2, null),
                     ("yes", 0.0, 50, "tiny@1"), ("cat", 0.25, 3, "tiny@1"),
                 })
        {
            var messages = version == "tiny@1" ? older : newer;
            var expected = Answers.Expected(messages, Question, answer, minScore, limit);
            // The question as a person types it, differently from how it was asked: one question once normalized.
            var url = $"/search?question=is+there+a+DOG&answer={answer}&minScore={minScore}&collection={collectionId}&limit={limit}"
                      + (version is null ? "" : $"&modelVersion={version}");
            using var response = await stack.Indexing.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("is there a DOG", body.GetProperty("question").GetString());
            Assert.Equal(answer, body.GetProperty("answer").GetString());
            Assert.Equal(version ?? "tiny@2", body.GetProperty("modelVersion").GetString());
            var results = body.GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(expected.Select(hit => hit.ImageId), results.Select(r => r.GetProperty("imageId").GetGuid()));
            Assert.Equal(expected.Select(hit => hit.Score), results.Select(r => r.GetProperty("score").GetDouble()));
            Assert.All(results, r => Assert.Equal(images.Single(i => i.Value == r.GetProperty("imageId").GetGuid()).Key,
                r.GetProperty("fileName").GetString()));
        }
    }

    [StackFact]
    public async Task The_urls_of_the_results_fetch_the_original_bytes()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        var answers = Answers.For(collectionId, images.Values, Questions, "tiny@1", seed: 4);
        await stack.ProduceAsync(answers);
        await WaitForIndexedAsync(collectionId, images.Count * Questions.Length * 3);
        var everyAnswer = answers.SelectMany(m => m.Questions[0].Answers.Select(a => a.Text)).Distinct();

        var fetched = 0;
        using var anonymous = new HttpClient();
        foreach (var answer in everyAnswer)
        {
            var body = await stack.Indexing.GetFromJsonAsync<JsonElement>(
                $"/search?question={Uri.EscapeDataString(Question)}&answer={answer}&collection={collectionId}");
            foreach (var result in body.GetProperty("results").EnumerateArray())
            {
                var bytes = await anonymous.GetByteArrayAsync(result.GetProperty("url").GetString());
                var original = await File.ReadAllBytesAsync(Fixtures.Images().Single(p => Path.GetFileName(p) == result.GetProperty("fileName").GetString()));
                Assert.Equal(SHA256.HashData(original), SHA256.HashData(bytes));
                fetched++;
            }
        }
        Assert.Equal(images.Count * 3, fetched);
    }

    [StackFact]
    public async Task A_question_never_asked_starts_one_job_and_later_returns_the_ranking()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        const string question = "Is there a horse?";
        var url = $"/search?question={Uri.EscapeDataString(question)}&answer=yes&collection={collectionId}";

        using var first = await stack.Indexing.GetAsync(url);
        using var second = await stack.Indexing.GetAsync(url.Replace("horse%3F", "Horse"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var started = await first.Content.ReadFromJsonAsync<JsonElement>();
        var jobId = started.GetProperty("jobId").GetGuid();
        Assert.Equal(new Uri(stack.JobsApi.BaseAddress, $"/jobs/{jobId}").ToString(), started.GetProperty("statusUrl").GetString());
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(jobId, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid());
        var posted = Assert.Single(stack.JobsApi.Posted, post => post.JobId == jobId);
        Assert.Single(stack.JobsApi.Posted, post => post.Body.GetProperty("collectionId").GetGuid() == collectionId);
        Assert.Equal([question], posted.Body.GetProperty("questions").EnumerateArray().Select(q => q.GetString()));
        Assert.Equal(5, posted.Body.GetProperty("topK").GetInt32());

        // The job completes: the inference service's answers arrive, and the same search returns the ranking.
        var answers = Answers.For(collectionId, images.Values, [question], "tiny@1", seed: 5, jobId: jobId);
        await stack.ProduceAsync(answers);
        await WaitForIndexedAsync(collectionId, images.Count * 3);
        using var completed = await stack.Indexing.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        var ranking = (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray()
            .Select(r => r.GetProperty("imageId").GetGuid());
        Assert.Equal(Answers.Expected(answers, question, "yes", 0, 50).Select(hit => hit.ImageId), ranking);
        await using var db = stack.NewDatabase();
        Assert.False(await db.SearchJobs.AnyAsync(j => j.JobId == jobId));
    }

    [StackFact]
    public async Task Bad_searches_are_refused_with_a_reason()
    {
        var (collectionId, _) = await stack.NewCollectionWithFixtureImagesAsync();
        var valid = $"question=is+there+a+dog&answer=yes&collection={collectionId}";
        foreach (var (query, status, reason) in new[]
                 {
                     ("answer=yes&collection=" + collectionId, HttpStatusCode.BadRequest, "give the question"),
                     ("question=%3F%3F+the&answer=yes&collection=" + collectionId, HttpStatusCode.BadRequest, "empty once normalized"),
                     ("question=dog&collection=" + collectionId, HttpStatusCode.BadRequest, "give the answer"),
                     ("question=dog&answer=yes", HttpStatusCode.BadRequest, "give the collection"),
                     ("question=dog&answer=yes&collection=abc", HttpStatusCode.BadRequest, "not a collection id"),
                     (valid + "&minScore=1.5", HttpStatusCode.BadRequest, "minScore '1.5'"),
                     (valid + "&minScore=high", HttpStatusCode.BadRequest, "minScore 'high'"),
                     (valid + "&limit=0", HttpStatusCode.BadRequest, "limit '0'"),
                     (valid + "&limit=100000", HttpStatusCode.BadRequest, "limit '100000'"),
                     ($"question=dog&answer=yes&collection={Guid.NewGuid()}", HttpStatusCode.NotFound, "does not exist"),
                 })
        {
            using var response = await stack.Indexing.GetAsync($"/search?{query}");
            Assert.Equal(status, response.StatusCode);
            Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
    }

    private Task WaitForIndexedAsync(Guid collectionId, int rows) =>
        stack.WaitUntilAsync(async db => await db.IndexedAnswers.CountAsync(a => a.CollectionId == collectionId) == rows,
            $"the index does not hold {rows} answers of {collectionId}");
}
