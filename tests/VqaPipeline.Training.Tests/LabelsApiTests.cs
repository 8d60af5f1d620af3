using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VqaPipeline.Training.Tests.Support;

namespace VqaPipeline.Training.Tests;

public sealed class LabelsApiTests(TrainingStackWithoutWorker stack) : IClassFixture<TrainingStackWithoutWorker>
{
    [StackFact]
    public async Task Labels_are_stored_per_image_and_question_and_a_later_label_replaces_the_earlier()
    {
        var (collectionId, imageIds) = await stack.NewCollectionAsync(Fixtures.Images().Take(2));

        using (var first = await stack.Api.PostAsJsonAsync($"/collections/{collectionId}/labels", new object[]
               {
                   new { imageId = imageIds[0], question = "What colour is it?", answers = new[] { "red", "red", "orange" } },
                   new { imageId = imageIds[1], question = "What colour is it?", answers = new[] { "blue" } },
                   new { imageId = imageIds[0], question = "Is there a cat?", answers = new[] { "no" } },
               }))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(3, (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("stored").GetInt32());
        }
        using (var correction = await stack.Api.PostAsJsonAsync($"/collections/{collectionId}/labels", new object[]
               {
                   new { imageId = imageIds[0], question = " What colour is it? ", answers = new[] { "green" } },
               }))
        {
            Assert.Equal(HttpStatusCode.OK, correction.StatusCode);
        }

        var labels = await stack.Api.GetFromJsonAsync<JsonElement>($"/collections/{collectionId}/labels");
        var stored = labels.GetProperty("items").EnumerateArray()
            .Select(l => (l.GetProperty("imageId").GetGuid(), l.GetProperty("question").GetString(),
                string.Join("|", l.GetProperty("answers").EnumerateArray().Select(a => a.GetString()))))
            .OrderBy(l => l.Item1).ThenBy(l => l.Item2)
            .ToList();
        var expected = new[]
            {
                (imageIds[0], "What colour is it?", "green"),
                (imageIds[1], "What colour is it?", "blue"),
                (imageIds[0], "Is there a cat?", "no"),
            }
            .Select(l => (l.Item1, (string?)l.Item2, l.Item3))
            .OrderBy(l => l.Item1).ThenBy(l => l.Item2)
            .ToList();
        Assert.Equal(expected, stored);
    }

    [StackFact]
    public async Task Bad_labels_are_refused_with_the_reason_and_store_nothing()
    {
        var (collectionId, imageIds) = await stack.NewCollectionAsync(Fixtures.Images().Take(1));
        var (otherCollection, otherImages) = await stack.NewCollectionAsync(Fixtures.Images().Skip(1).Take(1));
        var good = new { imageId = imageIds[0], question = "Is it?", answers = new[] { "yes" } };
        var cases = new (object Body, string Reason)[]
        {
            (new object[] { good, new { imageId = otherImages[0], question = "Is it?", answers = new[] { "yes" } } },
                $"label 1: image {otherImages[0]} is not in collection {collectionId}"),
            (new object[] { good, new { imageId = imageIds[0], question = "  ", answers = new[] { "yes" } } }, "label 1: the question is empty"),
            (new object[] { new { imageId = imageIds[0], question = "Is it?", answers = Array.Empty<string>() } },
                "label 0: give at least one answer in 'answers'"),
            (new object[] { new { imageId = imageIds[0], question = "Is it?", answers = new[] { "yes", "" } } }, "label 0: an answer is empty"),
            (Array.Empty<object>(), "send a JSON array of {\"imageId\", \"question\", \"answers\"}"),
        };
        foreach (var (body, reason) in cases)
        {
            using var response = await stack.Api.PostAsJsonAsync($"/collections/{collectionId}/labels", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        Assert.Empty((await stack.Api.GetFromJsonAsync<JsonElement>($"/collections/{collectionId}/labels")).GetProperty("items").EnumerateArray());

        using var unknown = await stack.Api.PostAsJsonAsync($"/collections/{Guid.NewGuid()}/labels", new object[] { good });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var malformed = await stack.Api.PostAsync($"/collections/{collectionId}/labels",
            new StringContent("{\"not\": \"an array\"", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.NotEqual(Guid.Empty, otherCollection);
    }
}
