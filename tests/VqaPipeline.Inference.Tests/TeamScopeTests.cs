using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Hosting;
using VqaPipeline.Inference.Data;
using VqaPipeline.Inference.Tests.Support;

namespace VqaPipeline.Inference.Tests;

/// <summary>
/// Jobs belong to the team that submitted them: another team's key finds nothing of them, and a job of one team never
/// reaches another team's collection — each answered exactly as an unknown id is.
/// </summary>
[Collection(InProcessCollection.Name)]
public sealed class TeamScopeTests(InProcessPipeline pipeline)
{
    [StackFact]
    public async Task Another_teams_key_finds_none_of_a_teams_job_and_gets_the_sentence_of_an_unknown_job()
    {
        var collectionId = await pipeline.NewCollectionAsync("team-a");
        var images = await pipeline.IngestAsync(collectionId, TestData.NoiseImages("team-a", 6, seed: 9100));
        using var teamB = (await pipeline.OtherTeamAsync("jobs-b")).Api;

        var jobId = await pipeline.SubmitAsync(collectionId, ["Is it red?"], TestData.TinyModel, topK: 2);
        // B cancels first, while the job is still active: were the job within its reach, it would end cancelled.
        var unknown = Guid.NewGuid();
        foreach (var (method, path) in JobRoutes())
        {
            var problem = await NotFoundAsync(teamB, method, path(jobId));
            var unknownProblem = await NotFoundAsync(teamB, method, path(unknown));
            Assert.Equal($"job {jobId} does not exist", problem.Detail);
            Assert.Equal(unknownProblem.Detail!.Replace(unknown.ToString(), jobId.ToString(), StringComparison.Ordinal), problem.Detail);
        }

        var job = await pipeline.WaitForJobAsync(jobId);
        Assert.Equal(("completed", images.Count, 0), (job.Status, job.Done, job.Failed));
        // Its own team still reads every route of it.
        var exported = await pipeline.Api.GetStringAsync($"/jobs/{jobId}/answers");
        Assert.Equal(images.Count * 2, exported.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        using var cancelled = await pipeline.Api.PostAsync($"/jobs/{jobId}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, cancelled.StatusCode);
    }

    [StackFact]
    public async Task A_job_naming_another_teams_collection_is_404_like_an_unknown_collection_and_stores_nothing()
    {
        var collectionId = await pipeline.NewCollectionAsync("team-a-collection");
        await pipeline.IngestAsync(collectionId, TestData.NoiseImages("team-a-collection", 1, seed: 9200));
        using var teamB = (await pipeline.OtherTeamAsync("jobs-b")).Api;

        var unknown = Guid.NewGuid();
        foreach (var target in new[] { collectionId, unknown })
        {
            using var response = await teamB.PostAsJsonAsync("/jobs",
                new { collectionId = target, questions = new[] { "Is it red?" }, model = TestData.TinyModel });
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal($"collection {target} does not exist", (await response.Content.ReadFromJsonAsync<ErrorResponse>())!.Detail);
        }
        await using var db = pipeline.NewContext();
        Assert.False(await db.QuestionJobs.AnyAsync(j => j.CollectionId == collectionId));
    }

    [StackFact]
    public async Task Another_teams_stored_model_is_refused_with_the_sentence_of_an_unknown_one_while_its_team_runs_it()
    {
        var name = $"team-model-{Guid.NewGuid():N}"[..24];
        await TestData.StoreTinyModelAsync($"models/{pipeline.TeamId:D}/{name}/1");
        using var teamB = (await pipeline.OtherTeamAsync("jobs-models")).Api;

        // The model is checked before the collection, so B's refusal is about the model alone.
        async Task<string> RefusalAsync(string model)
        {
            using var response = await teamB.PostAsJsonAsync("/jobs", new { collectionId = Guid.NewGuid(), questions = new[] { "Is it red?" }, model });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<ErrorResponse>())!.Detail!;
        }
        var theirs = await RefusalAsync($"models/{name}/1");
        var unknown = await RefusalAsync($"models/{name}-none/1");
        Assert.Equal(unknown.Replace($"{name}-none", name, StringComparison.Ordinal), theirs);
        Assert.DoesNotContain(pipeline.TeamId.ToString(), theirs);
        // Nor can B name the owner's folder itself.
        await RefusalAsync($"models/{pipeline.TeamId:D}/{name}/1");

        var collectionId = await pipeline.NewCollectionAsync("team-model");
        var images = await pipeline.IngestAsync(collectionId, TestData.NoiseImages("team-model", 1, seed: 9400));
        var job = await pipeline.WaitForJobAsync(await pipeline.SubmitAsync(collectionId, ["Is it red?"], $"models/{name}/1", topK: 1));
        Assert.Equal(("completed", $"models/{name}/1", images.Count), (job.Status, job.ModelVersion, job.Done));
    }

    [StackFact]
    public async Task A_jobs_rows_images_and_every_message_it_publishes_carry_its_team()
    {
        var collectionId = await pipeline.NewCollectionAsync("team-messages");
        var images = await pipeline.IngestAsync(collectionId, TestData.NoiseImages("team-messages", 3, seed: 9300));
        var jobId = await pipeline.SubmitAsync(collectionId, ["Is it red?"], TestData.TinyModel, topK: 1);
        Assert.Equal("completed", (await pipeline.WaitForJobAsync(jobId)).Status);

        await using var db = pipeline.NewContext();
        Assert.Equal(pipeline.TeamId, (await db.QuestionJobs.SingleAsync(j => j.Id == jobId)).TeamId);
        Assert.All(await db.Images.Where(i => i.CollectionId == collectionId).ToListAsync(), image => Assert.Equal(pipeline.TeamId, image.TeamId));
        var published = await db.EventLog.AsNoTracking().Where(e => e.JobId == jobId).ToListAsync();
        string[] types = ["QuestionJobSubmitted", "ImageBatchRequested", "AnswersProduced", "QuestionJobEnded"];
        Assert.Equal(types.Order(), published.Select(e => e.MessageType).Distinct().Order());
        Assert.Equal(images.Count, published.Count(e => e.MessageType == "AnswersProduced"));
        Assert.All(published, entry => Assert.Equal(pipeline.TeamId,
            JsonDocument.Parse(entry.Body).RootElement.GetProperty("teamId").GetGuid()));
    }

    /// <summary>Every route of <c>/jobs/{id}</c>, by method and path.</summary>
    private static IEnumerable<(HttpMethod Method, Func<Guid, string> Path)> JobRoutes() =>
    [
        (HttpMethod.Post, id => $"/jobs/{id}/cancel"),
        (HttpMethod.Get, id => $"/jobs/{id}"),
        (HttpMethod.Get, id => $"/jobs/{id}/answers"),
        (HttpMethod.Get, id => $"/jobs/{id}/answers?format=csv"),
    ];

    private static async Task<ErrorResponse> NotFoundAsync(HttpClient client, HttpMethod method, string path)
    {
        using var response = await client.SendAsync(new HttpRequestMessage(method, path));
        Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path}: {response.StatusCode}");
        return (await response.Content.ReadFromJsonAsync<ErrorResponse>())!;
    }
}
