using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Indexing.Tests.Support;

namespace VqaPipeline.Indexing.Tests;

/// <summary>Search reaches only the caller's team's images, and the jobs it starts are the caller's team's.</summary>
[Collection(IndexingStackCollection.Name)]
public sealed class TeamScopeTests(IndexingStack stack)
{
    private const string Question = "Is there a zebra?";
    private const string Version = "tiny@teams";
    private const string MixedUpVersion = "tiny@mixed-up";

    [StackFact]
    public async Task Another_teams_search_never_reaches_a_teams_images()
    {
        var (teamB, clientB) = await stack.OtherTeamAsync("search-b");
        using var b = clientB;
        var (collectionA, imagesA) = await stack.NewCollectionWithFixtureImagesAsync();
        var (collectionB, imagesB) = await stack.NewCollectionWithFixtureImagesAsync(b);
        // Every image of both teams answered "yes". A's are indexed under A's collection, and — as a message naming the
        // wrong collection would have them, by another model — under B's: only the team decides who finds them.
        await stack.ProduceAsync([.. AllYes(collectionA, imagesA.Values, Version), .. AllYes(collectionB, imagesA.Values, MixedUpVersion)]);
        await stack.ProduceAsync(AllYes(collectionB, imagesB.Values, Version), teamB);
        await stack.WaitUntilIndexedAsync(async db => await db.IndexedAnswers.CountAsync(a => a.CollectionId == collectionA) == 2 * imagesA.Count
                                                      && await db.IndexedAnswers.CountAsync(a => a.CollectionId == collectionB) == 2 * (imagesA.Count + imagesB.Count),
            "the answers of both teams are not indexed");

        // A finds its images; B, searching A's collection, gets exactly what an unknown collection gets.
        Assert.Equal(imagesA.Values.Order(), await FoundAsync(stack.Indexing, collectionA));
        var unknown = Guid.NewGuid();
        foreach (var collection in new[] { collectionA, unknown })
        {
            using var response = await b.GetAsync(SearchUrl(collection));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal($"collection {collection} does not exist", (await response.Content.ReadFromJsonAsync<ErrorResponse>())!.Detail);
        }
        // In its own collection, B finds its own images and none of A's, though A's answers name that collection.
        Assert.Equal(imagesB.Values.Order(), await FoundAsync(b, collectionB));
        Assert.Empty(await FoundAsync(b, collectionB, MixedUpVersion));
        await using var index = stack.IndexDatabase();
        Assert.All(await index.IndexedAnswers.Where(a => imagesA.Values.Contains(a.ImageId)).ToListAsync(),
            row => Assert.Equal(stack.TeamId, row.TeamId));
    }

    [StackFact]
    public async Task A_search_that_starts_a_job_starts_it_as_its_caller_so_only_its_team_follows_it()
    {
        var (teamB, clientB) = await stack.OtherTeamAsync("search-b");
        using var b = clientB;
        var (collectionB, _) = await stack.NewCollectionWithFixtureImagesAsync(b);
        const string question = "Is there a giraffe?";

        using var started = await b.GetAsync(SearchUrl(collectionB, question));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();

        await using (var jobs = stack.JobsDatabase())
            Assert.Equal(teamB, (await jobs.QuestionJobs.SingleAsync(j => j.Id == jobId)).TeamId);
        await using (var index = stack.IndexDatabase())
            Assert.Equal(teamB, (await index.SearchJobs.SingleAsync(s => s.JobId == jobId)).TeamId);
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync($"/jobs/{jobId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stack.Indexing.GetAsync($"/jobs/{jobId}")).StatusCode);
        // Team A asking the same question of its own collection starts a job of its own.
        var (collectionA, _) = await stack.NewCollectionWithFixtureImagesAsync();
        using var startedByA = await stack.Indexing.GetAsync(SearchUrl(collectionA, question));
        Assert.Equal(HttpStatusCode.Accepted, startedByA.StatusCode);
        var jobOfA = (await startedByA.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();
        Assert.NotEqual(jobId, jobOfA);
        await using (var jobs = stack.JobsDatabase())
            Assert.Equal(stack.TeamId, (await jobs.QuestionJobs.SingleAsync(j => j.Id == jobOfA)).TeamId);
    }

    private static string SearchUrl(Guid collectionId, string question = Question) =>
        $"/search?question={Uri.EscapeDataString(question)}&answer=yes&collection={collectionId}&limit=1000";

    private static async Task<List<Guid>> FoundAsync(HttpClient client, Guid collectionId, string version = Version)
    {
        using var response = await client.GetAsync(SearchUrl(collectionId) + $"&modelVersion={Uri.EscapeDataString(version)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray()
            .Select(result => result.GetProperty("imageId").GetGuid()).Order().ToList();
    }

    /// <summary>"yes" as the best answer of every image to <see cref="Question"/>.</summary>
    private static IEnumerable<AnswersProduced> AllYes(Guid collectionId, IEnumerable<Guid> imageIds, string version) =>
        imageIds.Select(imageId => new AnswersProduced(Guid.NewGuid(), collectionId, imageId, version,
            [new QuestionAnswers(Question, [new Answer("yes", 0.9), new Answer("no", 0.1)])], DateTimeOffset.UtcNow));
}
