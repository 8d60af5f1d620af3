using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.StackTesting;
using VqaPipeline.Training.Data;
using VqaPipeline.Training.Tests.Support;

namespace VqaPipeline.Training.Tests;

/// <summary>Training runs and model versions belong to a team: another team's key finds none of them.</summary>
public sealed class TrainingTeamScopeTests(TrainingStackWithoutWorker stack) : IClassFixture<TrainingStackWithoutWorker>
{
    private static readonly string BaseModel = Fixtures.PathOf("vilt-tiny");

    [StackFact]
    public async Task Another_team_is_told_about_a_teams_runs_and_collections_what_it_is_told_about_unknown_ids()
    {
        var collectionId = await stack.NewLabelledCollectionAsync(1);
        var runId = await stack.StartRunAsync(new { modelName = "scoped", dataset = new { collectionId }, baseModel = BaseModel, maxSteps = 1 });
        using var other = await OtherTeam.CreateAsync(stack.Stack, "training-other");

        await other.AssertUnknownAsync(ids => new HttpRequestMessage(HttpMethod.Get, $"/training-runs/{ids[0]}"), runId);
        await other.AssertUnknownAsync(ids => new HttpRequestMessage(HttpMethod.Post, $"/training-runs/{ids[0]}/cancel"), runId);
        // The collection named in the body: the ingestion service, asked as the caller, does not know it either.
        await other.AssertUnknownAsync(ids => new HttpRequestMessage(HttpMethod.Post, "/training-runs")
        {
            Content = JsonContent.Create(new { modelName = "stolen", dataset = new { collectionId = ids[0] }, baseModel = BaseModel, maxSteps = 1 }),
        }, collectionId);

        var run = await stack.Api.GetFromJsonAsync<JsonElement>($"/training-runs/{runId}");
        Assert.Equal("queued", run.GetProperty("status").GetString());
        await using var db = stack.NewContext();
        Assert.Equal(stack.Stack.TeamId, (await db.TrainingRuns.SingleAsync(r => r.Id == runId)).TeamId);
        // The published row: the training service also consumes its own TrainingRequested, which logs it again.
        var requested = (await db.EventLog.Where(e => e.MessageType == nameof(TrainingRequested) && e.Direction == VqaPipeline.Messaging.MessageDirection.Published).ToListAsync())
            .Single(e => e.Body.Contains(runId.ToString()));
        Assert.Equal(stack.Stack.TeamId, JsonSerializer.Deserialize<TrainingRequested>(requested.Body, JsonSerializerOptions.Web)!.TeamId);
        Assert.False(await db.TrainingRuns.AnyAsync(r => r.ModelName == "stolen"));
    }

    [StackFact]
    public async Task Models_lists_only_the_callers_teams_stored_versions()
    {
        using var other = await OtherTeam.CreateAsync(stack.Stack, "training-models");
        var ours = $"ours-{Guid.NewGuid():N}"[..20];
        var theirs = $"theirs-{Guid.NewGuid():N}"[..20];
        await using (var db = stack.NewContext())
        {
            db.ModelVersions.Add(Version(ours, stack.Stack.TeamId));
            db.ModelVersions.Add(Version(theirs, other.Id));
            await db.SaveChangesAsync();
        }

        var ourList = (await stack.Api.GetFromJsonAsync<JsonElement>("/models")).GetProperty("items").EnumerateArray().ToList();
        var theirList = (await other.Api.GetFromJsonAsync<JsonElement>("/models")).GetProperty("items").EnumerateArray().ToList();

        var ourNames = ourList!.Select(m => m.GetProperty("name").GetString()).ToList();
        var theirNames = theirList!.Select(m => m.GetProperty("name").GetString()).ToList();
        Assert.Contains(ours, ourNames);
        Assert.DoesNotContain(theirs, ourNames);
        Assert.Equal(new[] { theirs }, theirNames);
    }

    [StackFact]
    public async Task Another_teams_stored_model_is_no_starting_point_and_is_refused_like_an_unknown_one()
    {
        var name = $"base-{Guid.NewGuid():N}"[..20];
        await PutAsync($"models/{stack.Stack.TeamId:D}/{name}/1/config.json", "{}");
        var dataset = $"datasets/team-scope-{Guid.NewGuid():N}";
        await PutAsync($"{dataset}/metadata.jsonl", "{}");
        using var other = await OtherTeam.CreateAsync(stack.Stack, "training-base-model");

        async Task<(HttpStatusCode Status, string? Error)> StartAsync(HttpClient api, string baseModel)
        {
            using var response = await api.PostAsJsonAsync("/training-runs",
                new { modelName = "borrowed", dataset = new { objectPrefix = dataset }, baseModel, maxSteps = 1 });
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            return (response.StatusCode, body.TryGetProperty("error", out var error) ? error.GetString() : null);
        }
        var theirs = await StartAsync(other.Api, $"models/{name}/1");
        var unknown = await StartAsync(other.Api, $"models/{name}-none/1");
        var ours = await StartAsync(stack.Api, $"models/{name}/1");

        Assert.Equal(HttpStatusCode.BadRequest, theirs.Status);
        Assert.StartsWith($"model 'models/{name}/1' is not in object storage", theirs.Error);
        Assert.Equal(unknown.Error!.Replace($"{name}-none", name, StringComparison.Ordinal), theirs.Error);
        Assert.Equal(HttpStatusCode.Accepted, ours.Status);
    }

    [StackFact]
    public async Task Version_numbers_are_counted_per_team_so_two_teams_each_have_a_version_1_of_one_name()
    {
        using var other = await OtherTeam.CreateAsync(stack.Stack, "training-versions");
        var name = $"shared-{Guid.NewGuid():N}"[..20];
        await using (var db = stack.NewContext())
        {
            db.ModelVersions.Add(Version(name, stack.Stack.TeamId));
            db.ModelVersions.Add(Version(name, other.Id));
            await db.SaveChangesAsync();
        }

        // Within a team a number is still taken once.
        await using var again = stack.NewContext();
        again.ModelVersions.Add(Version(name, other.Id));
        await Assert.ThrowsAsync<DbUpdateException>(() => again.SaveChangesAsync());
    }

    [StackFact]
    public async Task The_training_service_reached_without_the_gateways_secret_answers_401()
    {
        await OtherTeam.AssertRefusedWithoutGatewayAsync(stack.Stack, Services.Training, "/models");
        await OtherTeam.AssertRefusedWithoutGatewayAsync(stack.Stack, Services.Training, $"/training-runs/{Guid.NewGuid()}");
    }

    private async Task PutAsync(string key, string text)
    {
        using var content = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
        await stack.Store.PutAtAsync(stack.Store.Bucket, key, content, "application/json");
    }

    private static ModelVersion Version(string name, Guid teamId) => new()
    {
        Id = Guid.NewGuid(), TeamId = teamId, Name = name, Version = 1, ObjectPrefix = $"models/{teamId:D}/{name}/1", TrainingExamples = 1,
        CreatedAt = DateTimeOffset.UtcNow,
    };
}
