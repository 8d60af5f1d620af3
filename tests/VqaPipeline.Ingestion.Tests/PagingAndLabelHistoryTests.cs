using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using VqaPipeline.Hosting.Paging;
using VqaPipeline.Ingestion.Tests.Support;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Ingestion.Tests;

/// <summary>
/// Lists answer a page at a time ({items, nextCursor}) on a keyset order, and every label change is kept with who made
/// it, through the gateway.
/// </summary>
public sealed class PagingAndLabelHistoryTests(IngestionHost host) : IClassFixture<IngestionHost>
{
    private const string Question = "what colour is it";

    [StackFact]
    public async Task Collections_images_and_labels_walk_page_by_page_without_duplicates_or_gaps_and_the_last_page_has_no_cursor()
    {
        // A fresh team: its list of collections holds exactly what this test creates.
        using var team = await OtherTeam.CreateAsync(host.Stack, "paging-walk");
        var created = new List<Guid>();
        for (var index = 0; index < 7; index++)
        {
            using var response = await team.Api.PostAsJsonAsync("/collections", new { name = $"walk-{index}" });
            created.Add((await response.Content.ReadFromJsonAsync<CollectionResponse>())!.Id);
        }

        var (collections, collectionPages) = await WalkAsync<CollectionResponse>(team.Api, "/collections", limit: 3);
        Assert.Equal(created, collections.Select(c => c.Id));
        Assert.Equal(new[] { 3, 3, 1 }, collectionPages);

        var collectionId = created[0];
        using var upload = await team.Api.PostAsync($"/collections/{collectionId}/images", Form(Enumerable.Range(0, 5).Select(i => ImportStack.Png(1000 + i))));
        var accepted = (await upload.Content.ReadFromJsonAsync<IngestResponse>())!.Accepted.Select(a => a.ImageId).ToList();
        Assert.Equal(5, accepted.Count);
        var (images, imagePages) = await WalkAsync<ImageResponse>(team.Api, $"/collections/{collectionId}/images", limit: 2);
        Assert.Equal(accepted.Order(), images.Select(i => i.ImageId).Order());
        Assert.Equal(images.Count, images.Select(i => i.ImageId).Distinct().Count());
        Assert.Equal(new[] { 2, 2, 1 }, imagePages);

        using var labelled = await team.Api.PostAsJsonAsync($"/collections/{collectionId}/labels",
            accepted.SelectMany(imageId => new[] { Label(imageId, "red"), Label(imageId, "square", "what shape is it") }));
        Assert.Equal(HttpStatusCode.OK, labelled.StatusCode);
        var (labels, labelPages) = await WalkAsync<LabelResponse>(team.Api, $"/collections/{collectionId}/labels", limit: 4);
        Assert.Equal(10, labels.Select(l => (l.ImageId, l.Question)).Distinct().Count());
        // Image (uuid order: its text's order), then question.
        Assert.Equal(labels.OrderBy(l => l.ImageId.ToString(), StringComparer.Ordinal).ThenBy(l => l.Question, StringComparer.Ordinal).Select(l => l.Id),
            labels.Select(l => l.Id));
        Assert.Equal(new[] { 4, 4, 2 }, labelPages);

        // A list that fits one page says so at once; the default limit holds every item here.
        var whole = await team.Api.GetFromJsonAsync<Page<CollectionResponse>>("/collections");
        Assert.Equal(created, whole!.Items.Select(c => c.Id));
        Assert.Null(whole.NextCursor);
    }

    [StackFact]
    public async Task A_bad_limit_or_an_altered_foreign_or_other_list_cursor_is_a_400_problem_and_never_reads_the_other_team()
    {
        using var teamA = await OtherTeam.CreateAsync(host.Stack, "paging-a");
        using var teamB = await OtherTeam.CreateAsync(host.Stack, "paging-b");
        for (var index = 0; index < 3; index++)
            using (await teamA.Api.PostAsJsonAsync("/collections", new { name = $"a-{index}" })) { }
        using (await teamB.Api.PostAsJsonAsync("/collections", new { name = "b-0" })) { }
        var firstPage = (await teamA.Api.GetFromJsonAsync<Page<CollectionResponse>>("/collections?limit=1"))!;
        var cursor = firstPage.NextCursor!;
        using var collectionOfA = await teamA.Api.PostAsJsonAsync("/collections", new { name = "a-images" });
        var imagesOfA = $"/collections/{(await collectionOfA.Content.ReadFromJsonAsync<CollectionResponse>())!.Id}/images";

        foreach (var limit in new[] { "0", "-1", "1001", "ten", "1.5", "" })
            await AssertBadRequestAsync(teamA.Api, $"/collections?limit={limit}", $"limit '{limit}' is not a whole number from 1 to {Paging.MaxLimit}");
        await AssertBadRequestAsync(teamA.Api, "/collections?limit=1&limit=2", "limit '1,2' is not a whole number from 1 to 1000");
        var altered = (cursor[0] == 'A' ? 'B' : 'A') + cursor[1..];
        foreach (var bad in new[] { "not-a-cursor", altered, cursor + "x", cursor.Split('.')[0] })
            await AssertBadRequestAsync(teamA.Api, $"/collections?cursor={Uri.EscapeDataString(bad)}", Paging.BadCursorDetail);
        // Another team's cursor, and a cursor of another list of the same team, are refused rather than read.
        await AssertBadRequestAsync(teamB.Api, $"/collections?cursor={Uri.EscapeDataString(cursor)}", Paging.BadCursorDetail);
        await AssertBadRequestAsync(teamA.Api, $"{imagesOfA}?cursor={Uri.EscapeDataString(cursor)}", Paging.BadCursorDetail);

        var secondPage = (await teamA.Api.GetFromJsonAsync<Page<CollectionResponse>>($"/collections?limit=1&cursor={Uri.EscapeDataString(cursor)}"))!;
        Assert.NotEqual(firstPage.Items.Single().Id, secondPage.Items.Single().Id);
        var ofB = (await teamB.Api.GetFromJsonAsync<Page<CollectionResponse>>($"/collections?limit={Paging.MaxLimit}"))!;
        Assert.Equal(new[] { "b-0" }, ofB.Items.Select(c => c.Name));
        Assert.Null(ofB.NextCursor);
    }

    [StackFact]
    public async Task Every_label_change_is_kept_with_who_when_before_and_after_even_after_the_label_is_deleted()
    {
        var (collectionId, imageId) = await CollectionWithImageAsync("history");
        await StoreAsync(host.Http, collectionId, Label(imageId, "red"));
        var label = (await host.Http.GetFromJsonAsync<Page<LabelResponse>>($"/collections/{collectionId}/labels"))!.Items.Single();
        await StoreAsync(host.Http, collectionId, Label(imageId, "blue", answers: ["blue", "navy"]));
        await StoreAsync(host.Http, collectionId, Label(imageId, "blue", answers: ["blue", "navy"]));
        using var deleted = await host.Http.DeleteAsync($"/collections/{collectionId}/labels/{label.Id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var deletedAgain = await host.Http.DeleteAsync($"/collections/{collectionId}/labels/{label.Id}");
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
        Assert.Empty((await host.Http.GetFromJsonAsync<Page<LabelResponse>>($"/collections/{collectionId}/labels"))!.Items);

        var (history, pages) = await WalkAsync<LabelChangeResponse>(host.Http, $"/collections/{collectionId}/labels/{label.Id}/history", limit: 2);
        Assert.Equal(new[] { 2, 1 }, pages);
        // Storing the same answers again is not a change.
        Assert.Equal(new[] { "created", "updated", "deleted" }, history.Select(c => c.Change));
        Assert.Equal(new string?[] { null, "red", "blue|navy" }, history.Select(c => c.Before is null ? null : string.Join("|", c.Before)));
        Assert.Equal(new string?[] { "red", "blue|navy", null }, history.Select(c => c.After is null ? null : string.Join("|", c.After)));
        var keyPrefix = host.Stack.ApiKey.Split('_')[1];
        Assert.All(history, change =>
        {
            Assert.Equal((imageId, Question), (change.ImageId, change.Question));
            Assert.Equal((host.Stack.Team, keyPrefix, "admin"), (change.Team, change.KeyPrefix, change.Role));
            Assert.InRange(change.ChangedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        });
        Assert.True(history.Zip(history.Skip(1)).All(pair => pair.First.ChangedAt <= pair.Second.ChangedAt));

        // Another team is told about the history what it is told about an unknown label.
        using var other = await OtherTeam.CreateAsync(host.Stack, "history-other");
        await other.AssertUnknownAsync(ids => new HttpRequestMessage(HttpMethod.Get, $"/collections/{ids[0]}/labels/{ids[1]}/history"), collectionId, label.Id);
        await other.AssertUnknownAsync(ids => new HttpRequestMessage(HttpMethod.Delete, $"/collections/{ids[0]}/labels/{ids[1]}"), collectionId, label.Id);
        using var unknownLabel = await host.Http.GetAsync($"/collections/{collectionId}/labels/{Guid.NewGuid()}/history");
        Assert.Equal(HttpStatusCode.NotFound, unknownLabel.StatusCode);
    }

    /// <summary>Follows nextCursor from the first page to the end; the items in order, and each page's size.</summary>
    private static async Task<(List<T> Items, List<int> PageSizes)> WalkAsync<T>(HttpClient api, string path, int limit)
    {
        var items = new List<T>();
        var sizes = new List<int>();
        string? cursor = null;
        do
        {
            var url = $"{path}?limit={limit}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            using var response = await api.GetAsync(url);
            Assert.True(response.IsSuccessStatusCode, $"GET {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var page = (await response.Content.ReadFromJsonAsync<Page<T>>())!;
            Assert.InRange(page.Items.Count, 1, limit);
            items.AddRange(page.Items);
            sizes.Add(page.Items.Count);
            cursor = page.NextCursor;
            Assert.True(sizes.Count < 100, "the cursor never ended");
        } while (cursor is not null);
        return (items, sizes);
    }

    private static async Task AssertBadRequestAsync(HttpClient api, string path, string detail)
    {
        using var response = await api.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(detail, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    private static object Label(Guid imageId, string answer, string question = Question, string[]? answers = null) =>
        new { imageId, question, answers = answers ?? [answer] };

    private static async Task StoreAsync(HttpClient api, Guid collectionId, object label)
    {
        using var response = await api.PostAsJsonAsync($"/collections/{collectionId}/labels", new[] { label });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<(Guid CollectionId, Guid ImageId)> CollectionWithImageAsync(string purpose)
    {
        using var created = await host.Http.PostAsJsonAsync("/collections", new { name = $"{purpose}-{Guid.NewGuid():N}" });
        var collectionId = (await created.Content.ReadFromJsonAsync<CollectionResponse>())!.Id;
        using var upload = await host.Http.PostAsync($"/collections/{collectionId}/images", Form([ImportStack.Png(Random.Shared.Next())]));
        return (collectionId, (await upload.Content.ReadFromJsonAsync<IngestResponse>())!.Accepted.Single().ImageId);
    }

    private static MultipartFormDataContent Form(IEnumerable<byte[]> pngs)
    {
        var form = new MultipartFormDataContent();
        var index = 0;
        foreach (var png in pngs)
        {
            var file = new ByteArrayContent(png);
            file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(file, "files", $"image-{index++}.png");
        }
        return form;
    }
}
