using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Indexing.Tests.Support;
using VqaPipeline.Messaging;
using VqaPipeline.TestSupport;

namespace VqaPipeline.Indexing.Tests;

/// <summary>
/// Questions and messages past what the index can hold, against the real servers: refused where they enter, or parked
/// where they are consumed, and never in the way of anyone else's work.
/// </summary>
[Collection(IndexingStackCollection.Name)]
public sealed class LimitsTests(IndexingStack stack)
{
    private const string Question = "Is there a dog?";

    /// <summary>200 × "dont ": 1,000 characters, which normalization lengthens to 1,199 ("don't").</summary>
    private static readonly string Contractions = string.Concat(Enumerable.Repeat("dont ", 200)).TrimEnd();

    /// <summary>1,000 CJK characters: within <c>varchar(1000)</c>, but 3,000 bytes, past a btree key's 2,704.</summary>
    private static readonly string Cjk = new(Enumerable.Range(0, 1000).Select(i => (char)(0x4E00 + (i * 7919) % 20000)).ToArray());

    [StackFact]
    public async Task A_batch_with_messages_the_index_cannot_hold_indexes_the_others_and_parks_each_bad_one_with_its_reason()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        var imageIds = images.Values.ToList();
        var good = Answers.For(collectionId, imageIds, [Question], "tiny@limits", seed: 11);
        var tooLong = Answers.For(collectionId, imageIds.Take(1), [Contractions], "tiny@limits", seed: 12)[0];
        var tooWide = Answers.For(collectionId, imageIds.Skip(1).Take(1), [Cjk], "tiny@limits", seed: 13)[0];
        // Not among the checked limits: an answer past its column, which only the database refuses.
        var refused = Answers.For(collectionId, imageIds.Skip(2).Take(1), ["what is it"], "tiny@limits", seed: 14)[0];
        refused = refused with { Questions = [new QuestionAnswers("what is it", [new Answer(new string('x', 300), 0.9)])] };
        await stack.ProduceAsync([good[0], tooLong, good[1], tooWide, refused, .. good.Skip(2)]);

        await stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.CollectionId == collectionId) == good.Count * 3,
            "the good messages' answers are not all indexed");
        var body = await stack.Indexing.GetFromJsonAsync<JsonElement>(
            $"/search?question={Uri.EscapeDataString(Question)}&answer=yes&collection={collectionId}");
        var expected = Answers.Expected(good, Question, "yes", 0, 50);
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Select(hit => hit.ImageId), body.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("imageId").GetGuid()));

        await using var index = stack.IndexDatabase();
        foreach (var (bad, reason) in new[] { (tooLong, "1199 bytes once normalized"), (tooWide, "3000 bytes once normalized"), (refused, "the index refused it") })
        {
            var logged = await index.EventLog.SingleAsync(e => e.Direction == MessageDirection.Consumed && e.JobId == bad.JobId
                                                                && e.ImageId == bad.ImageId && e.MessageType == nameof(AnswersProduced));
            Assert.NotNull(logged.ParkedAt);
            Assert.Contains(reason, logged.LastError);
            Assert.False(await index.IndexedAnswers.AnyAsync(a => a.JobId == bad.JobId && a.ImageId == bad.ImageId));
        }
        Assert.Equal(good.Count, await index.EventLog.CountAsync(e => e.Direction == MessageDirection.Consumed
                                                                      && e.JobId == good[0].JobId && e.ParkedAt == null));
    }
    [StackFact]
    public async Task Questions_and_models_past_what_the_index_holds_are_refused_with_a_reason_and_other_searches_still_complete()
    {
        var (collectionId, _) = await stack.NewCollectionWithFixtureImagesAsync();
        var longPath = "/" + new string('m', 599);
        foreach (var (body, reason) in new (object, string)[]
                 {
                     (new { collectionId, questions = new[] { "Is it red?", Contractions } }, "question 2: the question is 1199 bytes once normalized (UTF-8), more than 1000"),
                     (new { collectionId, questions = new[] { Cjk } }, "question 1: the question is 3000 bytes once normalized (UTF-8), more than 1000"),
                     (new { collectionId, questions = new[] { "Is it red?" }, model = longPath }, "the model is 600 bytes (UTF-8), more than 400"),
                 })
        {
            using var response = await stack.Ingestion.PostAsJsonAsync("/jobs", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        foreach (var (query, reason) in new[]
                 {
                     ($"question={Uri.EscapeDataString(Contractions)}&answer=yes", "the question is 1199 bytes once normalized"),
                     ($"question={Uri.EscapeDataString(Cjk)}&answer=yes", "the question is 3000 bytes once normalized"),
                     ($"question=is+it+red&answer=yes&modelVersion={Uri.EscapeDataString(longPath)}", "the model version is 600 bytes (UTF-8), more than 500"),
                 })
        {
            using var response = await stack.Indexing.GetAsync($"/search?{query}&collection={collectionId}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        var url = $"/search?question={Uri.EscapeDataString("Is there a boat?")}&answer=yes&collection={collectionId}";
        await Poll.UntilAsync(async () =>
        {
            using var response = await stack.Indexing.GetAsync(url);
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted, $"the search answered {response.StatusCode}");
            return response.StatusCode == HttpStatusCode.OK;
        }, IndexingStack.Patience, "the search of an ordinary question still pending", TimeSpan.FromMilliseconds(100));
        await using var jobs = stack.JobsDatabase();
        Assert.Equal(["Is there a boat?"], (await jobs.QuestionJobs.SingleAsync(j => j.CollectionId == collectionId)).Questions);
    }

    [StackFact]
    public async Task A_search_whose_job_had_answers_parked_by_indexing_ranks_what_was_indexed_instead_of_waiting_for_ever()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        var url = $"/search?question={Uri.EscapeDataString("Is there a cat?")}&answer=yes&minScore=0&collection={collectionId}";
        Guid jobId;
        using (var started = await stack.Indexing.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            jobId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();
        }
        Assert.Equal("completed", await stack.WaitForJobAsync(jobId));
        await stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.JobId == jobId && a.Rank == 1) == images.Count,
            "the job's answers are not all indexed");

        // What indexing leaves when it parks one image's AnswersProduced: its consumed entry parked, none of its answers.
        var lost = images.Values.First();
        await using (var index = stack.IndexDatabase())
        {
            await index.IndexedAnswers.Where(a => a.JobId == jobId && a.ImageId == lost).ExecuteDeleteAsync();
            var consumed = await index.EventLog.SingleAsync(e => e.Direction == MessageDirection.Consumed && e.JobId == jobId
                                                                 && e.ImageId == lost && e.MessageType == nameof(AnswersProduced));
            consumed.ParkedAt = DateTimeOffset.UtcNow;
            consumed.LastError = "the index refused it: value too long for type character varying(255)";
            await index.SaveChangesAsync();
        }

        using var response = await stack.Indexing.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ranked = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray()
            .Select(r => r.GetProperty("imageId").GetGuid()).ToList();
        Assert.DoesNotContain(lost, ranked);
    }
}
