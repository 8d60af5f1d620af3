using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting.Paging;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Ingestion.Tests.Support;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Ingestion.Tests;

/// <summary>Collections, images, labels and imports belong to a team: another team's key finds none of them.</summary>
public sealed class IngestionTeamScopeTests(IngestionHost host) : IClassFixture<IngestionHost>
{
    [StackFact]
    public async Task Another_team_is_told_about_a_teams_collection_images_labels_imports_and_bytes_what_it_is_told_about_unknown_ids()
    {
        var (collectionId, imageId) = await CollectionWithImageAsync("scoped");
        using var labels = await host.Http.PostAsJsonAsync($"/collections/{collectionId}/labels",
            new[] { new { imageId, question = "what is it", answers = new[] { "noise" } } });
        Assert.Equal(HttpStatusCode.OK, labels.StatusCode);
        using var import = await host.Http.PostAsJsonAsync($"/collections/{collectionId}/imports",
            new { bucket = host.Store.Bucket, prefix = $"team-scope/{Guid.NewGuid():N}/" });
        Assert.Equal(HttpStatusCode.Accepted, import.StatusCode);
        var importId = (await import.Content.ReadFromJsonAsync<ImportResponse>())!.ImportId;
        using var ownBytes = await host.Http.GetAsync($"/collections/{collectionId}/images/{imageId}/content");
        Assert.Equal(HttpStatusCode.OK, ownBytes.StatusCode);
        using var other = await OtherTeam.CreateAsync(host.Stack, "ingestion-other");

        await other.AssertUnknownAsync(ids => Get($"/collections/{ids[0]}"), collectionId);
        await other.AssertUnknownAsync(ids => Get($"/collections/{ids[0]}/images"), collectionId);
        await other.AssertUnknownAsync(ids => Get($"/collections/{ids[0]}/images/{ids[1]}/content"), collectionId, imageId);
        await other.AssertUnknownAsync(ids => Get($"/collections/{ids[0]}/labels"), collectionId);
        await other.AssertUnknownAsync(ids => Get($"/collections/{ids[0]}/imports/{ids[1]}"), collectionId, importId);
        await other.AssertUnknownAsync(ids => Post($"/collections/{ids[0]}/labels",
            new[] { new { imageId, question = "what is it", answers = new[] { "overwritten" } } }), collectionId);
        await other.AssertUnknownAsync(ids => Post($"/collections/{ids[0]}/imports", new { bucket = host.Store.Bucket, prefix = "x/" }), collectionId);
        await other.AssertUnknownAsync(ids => Post($"/collections/{ids[0]}/images/urls", new { urls = new[] { "http://127.0.0.1:1/a.png" } }),
            collectionId);
        await other.AssertUnknownAsync(ids => new HttpRequestMessage(HttpMethod.Post, $"/collections/{ids[0]}/images")
        {
            Content = Form(ImportStack.Png(99)),
        }, collectionId);

        var theirList = (await other.Api.GetFromJsonAsync<Page<CollectionResponse>>("/collections"))!.Items;
        Assert.DoesNotContain(theirList!, c => c.Id == collectionId);
        var ownLabels = (await host.Http.GetFromJsonAsync<Page<LabelResponse>>($"/collections/{collectionId}/labels"))!.Items;
        Assert.Equal(new[] { "noise" }, ownLabels!.Single().Answers);
        await using var database = host.NewDatabase();
        Assert.Equal(1, await database.Images.CountAsync(i => i.CollectionId == collectionId));
    }

    [StackFact]
    public async Task Collection_names_are_unique_within_a_team_only_and_lists_hold_the_callers_team_only()
    {
        var name = $"shared-name-{Guid.NewGuid():N}";
        using var first = await host.Http.PostAsJsonAsync("/collections", new { name });
        using var other = await OtherTeam.CreateAsync(host.Stack, "ingestion-names");
        using var second = await other.Api.PostAsJsonAsync("/collections", new { name });
        using var again = await other.Api.PostAsJsonAsync("/collections", new { name });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var theirs = (await second.Content.ReadFromJsonAsync<CollectionResponse>())!;
        var ours = (await first.Content.ReadFromJsonAsync<CollectionResponse>())!;
        Assert.Equal(new[] { theirs }, (await other.Api.GetFromJsonAsync<Page<CollectionResponse>>("/collections"))!.Items);
        var ourList = (await host.Http.GetFromJsonAsync<Page<CollectionResponse>>("/collections"))!.Items;
        Assert.Contains(ours, ourList!);
        Assert.DoesNotContain(theirs, ourList!);
    }

    [StackFact]
    public async Task An_ingested_image_is_announced_with_its_collections_team()
    {
        var teamId = await host.Stack.Keys.CreateTeamAsync(host.Stack.Team, ifAbsent: true);
        var (_, imageId) = await CollectionWithImageAsync("announced");

        var message = await host.Messages.For(imageId);

        Assert.NotEqual(Guid.Empty, teamId);
        Assert.Equal(teamId, message.TeamId);
    }

    [StackFact]
    public async Task The_ingestion_service_reached_without_the_gateways_secret_answers_401()
    {
        await OtherTeam.AssertRefusedWithoutGatewayAsync(host.Stack, Services.Ingestion, "/collections");
        await OtherTeam.AssertRefusedWithoutGatewayAsync(host.Stack, Services.Ingestion, $"/collections/{Guid.NewGuid()}/labels");
    }

    [StackFact]
    public async Task Collections_stored_before_teams_belong_to_the_team_created_with_adopt_existing()
    {
        // A row as it was before teams: no team_id given, so the column's default.
        var collectionId = Guid.NewGuid();
        await using (var database = host.NewDatabase())
            await database.Database.ExecuteSqlInterpolatedAsync(
                $"INSERT INTO ingestion.collections (id, name, created_at) VALUES ({collectionId}, {"before-teams-" + collectionId}, now())");

        using var adopter = await OtherTeam.CreateAsync(host.Stack, "adopter", adoptExisting: true);
        using var adopted = await adopter.Api.GetAsync($"/collections/{collectionId}");
        using var stackTeams = await host.Http.GetAsync($"/collections/{collectionId}");
        var secondAdopter = await Record.ExceptionAsync(() => OtherTeam.CreateAsync(host.Stack, "second-adopter", adoptExisting: true));

        Assert.Equal(Guid.Empty, adopter.Id);
        Assert.Equal(HttpStatusCode.OK, adopted.StatusCode);
        Assert.Contains((await adopter.Api.GetFromJsonAsync<Page<CollectionResponse>>("/collections"))!.Items, c => c.Id == collectionId);
        Assert.Equal(HttpStatusCode.NotFound, stackTeams.StatusCode);
        Assert.Contains($"team '{adopter.Name}' already owns the data stored before teams", secondAdopter?.Message);
    }

    private async Task<(Guid CollectionId, Guid ImageId)> CollectionWithImageAsync(string purpose)
    {
        using var created = await host.Http.PostAsJsonAsync("/collections", new { name = $"{purpose}-{Guid.NewGuid():N}" });
        var collectionId = (await created.Content.ReadFromJsonAsync<CollectionResponse>())!.Id;
        using var upload = await host.Http.PostAsync($"/collections/{collectionId}/images", Form(ImportStack.Png(Random.Shared.Next())));
        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        var ingested = (await upload.Content.ReadFromJsonAsync<IngestResponse>())!;
        return (collectionId, ingested.Accepted.Single().ImageId);
    }

    private static MultipartFormDataContent Form(byte[] png)
    {
        var file = new ByteArrayContent(png);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return new MultipartFormDataContent { { file, "files", "image.png" } };
    }

    private static HttpRequestMessage Get(string path) => new(HttpMethod.Get, path);

    private static HttpRequestMessage Post<T>(string path, T body) => new(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
}
