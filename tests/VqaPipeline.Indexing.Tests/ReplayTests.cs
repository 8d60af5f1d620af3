using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Messaging;
using VqaPipeline.Indexing.Tests.Support;

namespace VqaPipeline.Indexing.Tests;

/// <summary>Replay of logged messages (POST /admin/replay and vqa replay) against the real servers: nothing doubles.</summary>
[Collection(IndexingStackCollection.Name)]
public sealed class ReplayTests(IndexingStack stack)
{
    private static readonly string[] Questions = ["Is there a dog?", "How many cats are there?"];

    [StackFact]
    public async Task Replaying_twice_doubles_no_row_and_an_emptied_index_is_rebuilt_as_it_was()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        await stack.ProduceAsync(Answers.For(collectionId, images.Values, Questions, "tiny@1", seed: 11));
        await stack.ProduceAsync(Answers.For(collectionId, images.Values, Questions, "tiny@2", seed: 12));
        var answerRows = 2 * images.Count * Questions.Length * 3;
        await stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.CollectionId == collectionId) == answerRows,
            "answers not indexed");
        var before = await SnapshotAsync(collectionId);

        foreach (var type in new[] { "ImageIngested", "AnswersProduced" })
        {
            for (var round = 1; round <= 2; round++)
            {
                var consumed = await LoggedAsync(type, collectionId);
                var replay = await ReplayAsync(new { type, collection = collectionId.ToString() });
                Assert.Equal(type == "ImageIngested" ? images.Count : 2 * images.Count, replay.Matched);
                Assert.Equal(replay.Matched, replay.Republished);
                // Each replayed message is logged once more, by its consumer, under the original's id.
                await stack.WaitUntilAsync(async () => await LoggedAsync(type, collectionId) == consumed + replay.Matched,
                    $"replayed {type} not all consumed");
            }
        }
        await Task.Delay(500); // anything still in flight would show below
        Assert.Equal(before, await SnapshotAsync(collectionId));

        var dryRun = await ReplayAsync(new { type = "AnswersProduced", collection = collectionId.ToString(), dryRun = true });
        Assert.Equal((2 * images.Count, 0), (dryRun.Matched, dryRun.Republished));

        await using (var db = stack.IndexDatabase())
            await db.Database.ExecuteSqlRawAsync("TRUNCATE indexed_answers, indexed_questions");
        var rebuilt = await ReplayAsync(new { type = "AnswersProduced", collection = collectionId.ToString() });
        Assert.Equal(2 * images.Count, rebuilt.Republished);
        await stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.CollectionId == collectionId) == answerRows,
            "the emptied index was not rebuilt");
        Assert.Equal(before, await SnapshotAsync(collectionId));
    }

    [StackFact]
    public async Task Bad_replays_are_refused_with_a_reason()
    {
        foreach (var (body, reason) in new (object, string)[]
                 {
                     (new { type = "Nope" }, "unknown message type 'Nope'"),
                     (new { type = "ImageIngested", from = "yesterday" }, "from 'yesterday' is not a time"),
                     (new { type = "ImageIngested", from = "2026-02-01T00:00:00Z", to = "2026-01-01T00:00:00Z" }, "ends"),
                     (new { type = "ImageIngested", collection = "abc" }, "collection 'abc' is not an id"),
                 })
        {
            using var response = await stack.Indexing.PostAsJsonAsync("/admin/replay", body);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
    }

    [StackFact]
    public async Task Vqa_replay_republishes_from_the_stack_settings_and_prints_json()
    {
        var (collectionId, images) = await stack.NewCollectionWithFixtureImagesAsync();
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        await stack.ProduceAsync(Answers.For(collectionId, images.Values, Questions, "tiny@1", seed: 13));
        await stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.CollectionId == collectionId) == images.Count * Questions.Length * 3,
            "answers not indexed");
        var before = await SnapshotAsync(collectionId);
        var consumed = await LoggedAsync("AnswersProduced", collectionId);

        var run = await RunVqaAsync("replay", "--type", "AnswersProduced", "--from", from.ToString("O"),
            "--collection", collectionId.ToString(), "--json");
        var refused = await RunVqaAsync("replay", "--type", "AnswersProduced", "--from", "soon");

        Assert.True(run.ExitCode == 0, run.Stderr);
        var printed = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(images.Count, printed.GetProperty("republished").GetInt32());
        await stack.WaitUntilAsync(async () => await LoggedAsync("AnswersProduced", collectionId) == consumed + images.Count,
            "replayed AnswersProduced not all consumed");
        Assert.Equal(before, await SnapshotAsync(collectionId));
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("error: from 'soon' is not a time", refused.Stderr);
        Assert.Equal("", refused.Stdout);
    }

    private async Task<ReplayResponse> ReplayAsync(object request)
    {
        using var response = await stack.Indexing.PostAsJsonAsync("/admin/replay", request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ReplayResponse>())!;
    }

    /// <summary>
    /// How often the consumer the test follows has logged <paramref name="type"/> about the collection: preprocessing for
    /// <c>ImageIngested</c>, indexing for <c>AnswersProduced</c>.
    /// </summary>
    private async Task<int> LoggedAsync(string type, Guid collectionId)
    {
        await using MessagingDbContext db = type == "ImageIngested" ? stack.PreprocessingDatabase() : stack.IndexDatabase();
        return await db.EventLog.CountAsync(e => e.MessageType == type && e.CollectionId == collectionId && e.Direction == MessageDirection.Consumed);
    }

    /// <summary>Every row about the collection, in a fixed order, as text: images, index, questions asked.</summary>
    private async Task<string> SnapshotAsync(Guid collectionId)
    {
        await using var imagesDb = stack.ImagesDatabase();
        await using var db = stack.IndexDatabase();
        var images = await imagesDb.Images.AsNoTracking().Where(i => i.CollectionId == collectionId).OrderBy(i => i.Id)
            .Select(i => new { i.Id, i.Sha256, i.Status, i.Width, i.Height, i.Format, i.PreprocessedObjectKey, i.RejectionReason })
            .ToListAsync();
        var answers = await db.IndexedAnswers.AsNoTracking().Where(a => a.CollectionId == collectionId)
            .OrderBy(a => a.ImageId).ThenBy(a => a.Question).ThenBy(a => a.ModelVersion).ThenBy(a => a.Rank)
            .Select(a => new { a.ImageId, a.FileName, a.ObjectKey, a.Question, a.QuestionAsked, a.Answer, a.NormalizedAnswer, a.Rank, a.Score, a.ModelVersion, a.JobId, a.ProducedAt })
            .ToListAsync();
        var questions = await db.IndexedQuestions.AsNoTracking().Where(q => q.CollectionId == collectionId)
            .OrderBy(q => q.Question).ThenBy(q => q.ModelVersion).ToListAsync();
        return JsonSerializer.Serialize(new { images, answers, questions });
    }

    // An operator's tool: the server's own login, which reads every service's event log.
    private Task<(int ExitCode, string Stdout, string Stderr)> RunVqaAsync(params string[] args) =>
        VqaProcess.RunAsync(new Dictionary<string, string?>
        {
            ["VQA_POSTGRES"] = stack.ConnectionString, ["VQA_RABBITMQ_URL"] = stack.BrokerUrl,
        }, args);
}
