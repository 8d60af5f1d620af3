using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Inference.Data;
using VqaPipeline.Indexing.Tests.Support;
using VqaPipeline.TestSupport;

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
    public async Task A_question_never_asked_starts_one_job_whose_answers_later_make_the_ranking()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        const string question = "Is there a horse?";
        string SearchUrl(string asked, string answer, double minScore) =>
            $"/search?question={Uri.EscapeDataString(asked)}&answer={Uri.EscapeDataString(answer)}&minScore={minScore}&collection={collectionId}";

        using var first = await stack.Indexing.GetAsync(SearchUrl(question, "yes", 0));
        using var second = await stack.Indexing.GetAsync(SearchUrl("is there a HORSE", "no", 0));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var started = await first.Content.ReadFromJsonAsync<JsonElement>();
        var jobId = started.GetProperty("jobId").GetGuid();
        Assert.Equal(new Uri(stack.Ingestion.BaseAddress!, $"/jobs/{jobId}").ToString(), started.GetProperty("statusUrl").GetString());
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(jobId, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid());
        await using (var db = stack.JobsDatabase())
        {
            var job = await db.QuestionJobs.SingleAsync(j => j.CollectionId == collectionId);
            Assert.Equal((jobId, 5, Path.GetFullPath(IndexingStack.JobModel)), (job.Id, job.TopK, job.Model));
            Assert.Equal([question], job.Questions);
        }

        // While the job runs and while its answers are on their way to the index, the search answers 202 with the
        // same job — never a ranking of the images answered so far; the first 200 finds everything indexed.
        var accepted = 0;
        await Poll.UntilAsync(async () =>
        {
            using var response = await stack.Indexing.GetAsync(SearchUrl(question, "yes", 0));
            if (response.StatusCode == HttpStatusCode.OK)
                return true;
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal(jobId, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid());
            accepted++;
            return false;
        }, IndexingStack.Patience, $"searches still pending for job {jobId}", TimeSpan.FromMilliseconds(20));
        Assert.True(accepted > 0);
        List<JobAnswer> stored;
        await using (var db = stack.JobsDatabase())
        {
            Assert.Equal(JobStatus.Completed, (await db.QuestionJobs.SingleAsync(j => j.Id == jobId)).Status);
            stored = await db.JobAnswers.AsNoTracking().Where(a => a.JobId == jobId).ToListAsync();
            Assert.Equal(images.Count * 5, stored.Count);
        }
        await using (var index = stack.IndexDatabase())
            Assert.Equal(stored.Count, await index.IndexedAnswers.CountAsync(a => a.JobId == jobId));
        // The answers of the ranking: "yes" as first asked, and the answer given most often at rank 1, with a minimum
        // score that drops some of its images.
        var common = stored.Where(a => a.Rank == 1).GroupBy(a => a.Answer).MaxBy(same => same.Count())!;
        var commonScores = stored.Where(a => a.Answer == common.Key).Select(a => a.Score).Order().ToList();
        foreach (var (answer, minScore) in new[] { ("yes", 0.0), (common.Key, 0.0), (common.Key, commonScores[commonScores.Count / 2]) })
        {
            using var response = await stack.Indexing.GetAsync(SearchUrl(question, answer, minScore));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(stored[0].ModelVersion, body.GetProperty("modelVersion").GetString());
            var expected = stored
                .Where(a => QuestionText.Normalize(a.Answer) == QuestionText.Normalize(answer) && a.Score >= minScore)
                .OrderByDescending(a => a.Score).Select(a => (a.ImageId, a.Score)).ToList();
            var ranking = body.GetProperty("results").EnumerateArray()
                .Select(r => (r.GetProperty("imageId").GetGuid(), r.GetProperty("score").GetDouble())).ToList();
            Assert.Equal(expected, ranking);
        }
        await using (var index = stack.IndexDatabase())
            Assert.False(await index.SearchJobs.AnyAsync(j => j.JobId == jobId));
        await using (var db = stack.JobsDatabase())
            Assert.Single(await db.QuestionJobs.Where(j => j.CollectionId == collectionId).ToListAsync());
    }

    [StackFact]
    public async Task A_search_waits_for_the_answers_of_its_job_still_on_their_way_to_the_index()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        const string question = "Is there a zebra?";
        string SearchUrl(string answer) =>
            $"/search?question={Uri.EscapeDataString(question)}&answer={Uri.EscapeDataString(answer)}&minScore=0&collection={collectionId}";
        Guid jobId;
        using (var first = await stack.Indexing.GetAsync(SearchUrl("no")))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            jobId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();
        }
        Assert.Equal("completed", await stack.WaitForJobAsync(jobId));
        await stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.JobId == jobId) == images.Count * 5,
            $"the answers of job {jobId} are not all indexed");

        // One image's answers not in the index yet, as when its AnswersProduced is still queued: the job has ended,
        // but a ranking now would leave that image out.
        var late = images.Values.First();
        List<JobAnswer> lateAnswers;
        await using (var db = stack.JobsDatabase())
            lateAnswers = await db.JobAnswers.AsNoTracking().Where(a => a.JobId == jobId && a.ImageId == late)
                .OrderBy(a => a.Rank).ToListAsync();
        await using (var index = stack.IndexDatabase())
            await index.IndexedAnswers.Where(a => a.ImageId == late && a.JobId == jobId).ExecuteDeleteAsync();
        foreach (var _ in Enumerable.Range(0, 2))
        {
            using var pending = await stack.Indexing.GetAsync(SearchUrl(lateAnswers[0].Answer));
            Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
            Assert.Equal(jobId, (await pending.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid());
        }

        await stack.ProduceAsync([new AnswersProduced(jobId, collectionId, late, lateAnswers[0].ModelVersion,
            [new QuestionAnswers(question, lateAnswers.Select(a => new Answer(a.Answer, a.Score)).ToList())],
            lateAnswers[0].CreatedAt)]);
        await stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.JobId == jobId) == images.Count * 5,
            $"the late answers of job {jobId} are not indexed");
        // The late image's best answer: the ranking for it must include that image.
        var answer = lateAnswers[0].Answer;
        using var settled = await stack.Indexing.GetAsync(SearchUrl(answer));
        Assert.Equal(HttpStatusCode.OK, settled.StatusCode);
        List<JobAnswer> stored;
        await using (var db = stack.JobsDatabase())
            stored = await db.JobAnswers.AsNoTracking().Where(a => a.JobId == jobId).ToListAsync();
        var expected = stored.Where(a => QuestionText.Normalize(a.Answer) == QuestionText.Normalize(answer)).OrderByDescending(a => a.Score)
            .ThenBy(a => a.ImageId).Select(a => a.ImageId).ToList();
        var ranking = (await settled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray()
            .Select(r => r.GetProperty("imageId").GetGuid()).ToList();
        Assert.Equal(expected, ranking);
        Assert.Contains(late, ranking);
    }

    [StackFact]
    public async Task A_search_whose_job_ended_without_answers_returns_an_empty_ranking()
    {
        using var created = await stack.Ingestion.PostAsJsonAsync("/collections", new { name = $"empty-{Guid.NewGuid():N}" });
        created.EnsureSuccessStatusCode();
        var collectionId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var url = $"/search?question=is+there+a+horse&answer=yes&collection={collectionId}";

        using var first = await stack.Indexing.GetAsync(url);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var jobId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();
        Assert.Equal("completed", await stack.WaitForJobAsync(jobId));

        foreach (var _ in Enumerable.Range(0, 2))
        {
            using var response = await stack.Indexing.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Empty(body.GetProperty("results").EnumerateArray());
            Assert.StartsWith(Path.GetFullPath(IndexingStack.JobModel), body.GetProperty("modelVersion").GetString());
        }
        await using var db = stack.JobsDatabase();
        Assert.Single(await db.QuestionJobs.Where(j => j.CollectionId == collectionId).ToListAsync());
    }

    [StackFact]
    public async Task A_search_whose_job_failed_says_why_and_the_next_search_asks_again()
    {
        var (collectionId, _) = await stack.NewCollectionWithFixtureImagesAsync();
        // A model folder the jobs API accepts (it has a config) but no worker can load: its weights are not a checkpoint.
        var model = Directory.CreateTempSubdirectory("vqa-unloadable-model-");
        try
        {
            foreach (var file in Directory.GetFiles(IndexingStack.JobModel)
                         .Where(file => Path.GetExtension(file) is not (".safetensors" or ".bin")))
                File.Copy(file, Path.Combine(model.FullName, Path.GetFileName(file)));
            await File.WriteAllTextAsync(Path.Combine(model.FullName, "model.safetensors"), "not a checkpoint");
            var url = $"/search?question=is+there+a+giraffe&answer=yes&collection={collectionId}&modelVersion={Uri.EscapeDataString(model.FullName)}";

            Guid JobIdOf(JsonElement body) => body.GetProperty("jobId").GetGuid();
            using var first = await stack.Indexing.GetAsync(url);
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            var failedJob = JobIdOf(await first.Content.ReadFromJsonAsync<JsonElement>());
            Assert.Equal("failed", await stack.WaitForJobAsync(failedJob));

            using var failed = await stack.Indexing.GetAsync(url);
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
            var error = (await failed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;
            Assert.Contains($"question job {failedJob} failed", error);
            Assert.Contains("could not be loaded", error);

            using var again = await stack.Indexing.GetAsync(url);
            Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
            var secondJob = JobIdOf(await again.Content.ReadFromJsonAsync<JsonElement>());
            Assert.NotEqual(failedJob, secondJob);
            Assert.Equal("failed", await stack.WaitForJobAsync(secondJob));
            await using var db = stack.JobsDatabase();
            Assert.Equal([failedJob, secondJob], (await db.QuestionJobs.Where(j => j.CollectionId == collectionId)
                .OrderBy(j => j.CreatedAt).Select(j => j.Id).ToListAsync()));
        }
        finally
        {
            model.Delete(recursive: true);
        }
    }

    [StackFact]
    public async Task A_job_with_a_generative_model_stores_the_written_answers_as_the_engine_writes_them_and_search_ranks_them()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        var model = Fixtures.PathOf("blip-vqa-tiny");
        const string question = "What is in the picture?";

        using var submitted = await stack.Ingestion.PostAsJsonAsync("/jobs", new { collectionId, questions = new[] { question }, model });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal("completed", await stack.WaitForJobAsync(jobId));

        List<JobAnswer> stored;
        await using (var db = stack.JobsDatabase())
            stored = await db.JobAnswers.AsNoTracking().Where(a => a.JobId == jobId).ToListAsync();
        // One written answer per image, as the engine writes it for that image and question.
        using var engine = VqaPipeline.Ml.Pipelines.VqaEngine.FromPretrained(model);
        var loader = new VqaPipeline.Ml.Imaging.ImageLoader();
        foreach (var (fileName, imageId) in images)
        {
            var written = engine.Generate(loader.LoadFile(Fixtures.Images().Single(p => Path.GetFileName(p) == fileName)), [question],
                new VqaPipeline.Ml.Pipelines.GenerationOptions { ScoreYesNo = true }).Single();
            var first = stored.Single(a => a.ImageId == imageId && a.Rank == 1);
            Assert.Equal(written.Answer, first.Answer);
            Assert.True(Math.Abs(written.Score - first.Score) <= 1e-6 * Math.Max(1, written.Score), $"{fileName}: {written.Score} vs {first.Score}");
        }

        await stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.JobId == jobId) == stored.Count,
            $"the answers of job {jobId} are not all indexed");
        var answer = stored.First(a => a.Rank == 1).Answer;
        using var response = await stack.Indexing.GetAsync(
            $"/search?question={Uri.EscapeDataString(question)}&answer={Uri.EscapeDataString(answer)}&minScore=0&collection={collectionId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ranking = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray()
            .Select(r => (r.GetProperty("imageId").GetGuid(), r.GetProperty("score").GetDouble())).ToList();
        var expected = stored.Where(a => QuestionText.Normalize(a.Answer) == QuestionText.Normalize(answer))
            .OrderByDescending(a => a.Score).ThenBy(a => a.ImageId).Select(a => (a.ImageId, a.Score)).ToList();
        Assert.Equal(expected, ranking);
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
        stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.CollectionId == collectionId) == rows,
            $"the index does not hold {rows} answers of {collectionId}");
}
