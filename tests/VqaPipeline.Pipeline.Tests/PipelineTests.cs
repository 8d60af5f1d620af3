using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Ingestion;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Messaging;
using VqaPipeline.Pipeline.Tests.Support;
using Xunit.Abstractions;

namespace VqaPipeline.Pipeline.Tests;

/// <summary>Ingestion and preprocessing end to end on the real PostgreSQL, RabbitMQ and object store.</summary>
public sealed class PipelineTests(ITestOutputHelper output)
{
    [StackFact]
    public async Task A_mixed_upload_of_fifty_ends_with_every_image_ready_or_rejected_and_nothing_lost()
    {
        await using var virtualHost = await RabbitMqVirtualHost.CreateAsync("pipeline");
        await using var stack = await PipelineStack.StartAsync(virtualHost.Url);
        await stack.StartWorkerInProcessAsync();
        var collectionId = await CreateCollectionAsync(stack);
        var fixtures = Fixtures.Images().Select(path => (Name: Path.GetFileName(path), Bytes: File.ReadAllBytes(path))).ToList();
        var pngs = Enumerable.Range(0, 20).Select(i => (Name: $"generated-{i}.png", Bytes: TestImages.Png(seed: i))).ToList();
        var jpegs = Enumerable.Range(0, 12).Select(i => (Name: $"generated-{i}.jpg", Bytes: TestImages.Jpeg(seed: 100 + i))).ToList();
        var duplicates = new[] { ("copy-of-" + fixtures[0].Name, fixtures[0].Bytes), ("copy-of-" + pngs[0].Name, pngs[0].Bytes),
                                 ("copy-of-" + jpegs[0].Name, jpegs[0].Bytes) };
        var jpeg = File.ReadAllBytes(Fixtures.Jpeg());
        var truncated = ("truncated.jpg", jpeg[..(jpeg.Length / 2)]);
        var text = ("notes.jpg", "a text file, not a picture\n"u8.ToArray());
        var zipped = Enumerable.Range(0, 5).Select(i => ($"zipped/{i}.png", TestImages.Png(seed: 200 + i))).ToList();
        var zip = ("batch.zip", TestImages.Zip([.. zipped, ("../evil.png", TestImages.Png(seed: 300))]));
        (string, byte[])[] files = [.. fixtures, .. pngs, .. jpegs, .. duplicates, truncated, text, zip];
        Assert.Equal(50, files.Length - 1 + zipped.Count + 1); // images offered, the zip counted by its entries

        var result = await UploadAsync(stack, collectionId, files);

        Assert.Equal(["notes.jpg", "../evil.png"], result.Refused.Select(r => r.FileName));
        Assert.Contains("not an image", result.Refused[0].Reason);
        Assert.Contains("escapes the archive root", result.Refused[1].Reason);
        var accepted = result.Accepted.ToDictionary(a => a.FileName);
        Assert.Equal(fixtures.Count + pngs.Count + jpegs.Count + 1 + zipped.Count, accepted.Count);
        Assert.Equal(50, accepted.Count + result.Duplicates.Count + result.Refused.Count);
        Assert.Equal(duplicates.Length, result.Duplicates.Count);
        foreach (var (duplicate, (name, _)) in result.Duplicates.Zip(new[] { fixtures[0], pngs[0], jpegs[0] }))
            Assert.Equal(accepted[name].ImageId, duplicate.ImageId);

        var images = await stack.WaitForFinalAsync(accepted.Values.Select(a => a.ImageId).ToList());
        var rejected = Assert.Single(images.Values, i => i.Status == ImageStatus.Rejected);
        Assert.Equal("truncated.jpg", rejected.FileName);
        Assert.StartsWith("Truncated: ", rejected.RejectionReason);
        Assert.All(images.Values.Where(i => i != rejected), i => Assert.Equal(ImageStatus.Ready, i.Status));
        await using (var db = stack.NewContext())
        {
            var rows = await db.Images.AsNoTracking().Where(i => i.CollectionId == collectionId).ToListAsync();
            Assert.Equal(accepted.Count, rows.Count);
            Assert.Equal(rows.Count, rows.Select(i => i.Sha256).Distinct().Count());
        }
        foreach (var (name, bytes) in files.Where(f => accepted.ContainsKey(f.Item1)))
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), accepted[name].Sha256);
        await stack.AssertEventLogCompleteAsync(images);
    }

    [StackFact]
    public async Task A_worker_killed_mid_batch_and_started_again_leaves_every_image_in_exactly_one_final_state()
    {
        await using var virtualHost = await RabbitMqVirtualHost.CreateAsync("pipeline");
        await using var stack = await PipelineStack.StartAsync(virtualHost.Url);
        var first = await stack.StartWorkerProcessAsync(prefetch: 2);
        var collectionId = await CreateCollectionAsync(stack);
        var files = Enumerable.Range(0, 40)
            .Select(i => ($"large-{i}.png", TestImages.Png(seed: 1000 + i, width: 400, height: 300)))
            .Append(("corrupt.jpg", [0xFF, 0xD8, 0xFF, .. "a JPEG signature and nothing after it"u8]))
            .ToList();

        // Images keep arriving after the kill, so the restarted worker always has work that the dead one left or
        // never saw, however fast this machine is.
        var beforeKill = await UploadAsync(stack, collectionId, files[..20]);
        var finalBeforeKill = await WaitUntilSomeFinalAsync(stack, Ids(beforeKill), atLeast: 3);
        first.Kill();
        output.WriteLine($"killed the worker with {finalBeforeKill} of 20 images final");
        var afterKill = await UploadAsync(stack, collectionId, files[20..]);
        var ids = Ids(beforeKill).Concat(Ids(afterKill)).ToList();
        Assert.Equal(files.Count, ids.Distinct().Count());

        await stack.StartWorkerProcessAsync(prefetch: 16);
        var images = await stack.WaitForFinalAsync(ids);

        Assert.Equal(ImageStatus.Rejected, images[afterKill.Accepted[^1].ImageId].Status);
        Assert.All(images.Values.Where(i => i.FileName != "corrupt.jpg"), i => Assert.Equal(ImageStatus.Ready, i.Status));
        await using (var db = stack.NewContext())
            Assert.Equal(ids.Count, await db.Images.CountAsync(i => i.CollectionId == collectionId));
        await stack.AssertEventLogCompleteAsync(images);
    }

    [StackFact]
    public async Task A_broker_that_crashes_while_messages_are_in_flight_and_comes_back_loses_nothing()
    {
        await using var broker = await PrivateRabbitMq.StartNewAsync();
        await using var stack = await PipelineStack.StartAsync(broker.Url.ToString());
        await stack.StartWorkerInProcessAsync();
        var collectionId = await CreateCollectionAsync(stack);
        var files = Enumerable.Range(0, 40)
            .Select(i => ($"in-flight-{i}.png", TestImages.Png(seed: 2000 + i, width: 320, height: 240)))
            .ToList();

        // The first half is published and being worked on when the broker dies; the second half arrives while it is
        // down, so its messages can only reach the worker if the outbox keeps them until the broker is back. Neither
        // depends on how fast this machine preprocesses.
        var firstHalf = await UploadAsync(stack, collectionId, files[..20]);
        var finalBeforeCrash = await WaitUntilSomeFinalAsync(stack, Ids(firstHalf), atLeast: 2);
        var outage = Stopwatch.StartNew();
        await broker.StopAsync();
        var secondHalf = await UploadAsync(stack, collectionId, files[20..]);
        var heldInOutbox = await UndispatchedAsync(stack, Ids(secondHalf));
        await broker.StartAsync();
        output.WriteLine($"broker down for {outage.Elapsed.TotalSeconds:0.0} s; {finalBeforeCrash} of 20 images final before the crash");

        Assert.Equal(20, heldInOutbox);
        var ids = Ids(firstHalf).Concat(Ids(secondHalf)).ToList();
        Assert.Equal(files.Count, ids.Distinct().Count());
        var images = await stack.WaitForFinalAsync(ids);
        Assert.All(images.Values, i => Assert.Equal(ImageStatus.Ready, i.Status));
        await stack.AssertEventLogCompleteAsync(images);
    }

    private static List<Guid> Ids(IngestResponse response) => response.Accepted.Select(a => a.ImageId).ToList();

    /// <summary>The images' <c>ImageIngested</c> still in ingestion's outbox.</summary>
    private static async Task<int> UndispatchedAsync(PipelineStack stack, IReadOnlyCollection<Guid> imageIds)
    {
        await using var db = stack.NewContext();
        return await db.EventLog.CountAsync(e => e.ImageId != null && imageIds.Contains(e.ImageId.Value)
                                                 && e.Direction == MessageDirection.Published && e.DispatchedAt == null);
    }

    private static async Task<int> WaitUntilSomeFinalAsync(PipelineStack stack, IReadOnlyCollection<Guid> ids, int atLeast)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var final = (await stack.ImagesAsync(ids)).Values.Count(i => i.Status != ImageStatus.Pending);
            if (final >= atLeast)
                return final;
            if (deadline.Elapsed > PipelineStack.Patience)
                throw new TimeoutException($"only {final} images final after {PipelineStack.Patience}");
            await Task.Delay(20);
        }
    }

    private static async Task<Guid> CreateCollectionAsync(PipelineStack stack)
    {
        using var response = await stack.Ingestion.PostAsJsonAsync("/collections", new { name = $"pipeline-{Guid.NewGuid():N}" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<CollectionResponse>())!.Id;
    }

    private static async Task<IngestResponse> UploadAsync(PipelineStack stack, Guid collectionId, IEnumerable<(string Name, byte[] Bytes)> files)
    {
        using var form = new MultipartFormDataContent();
        foreach (var (name, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", name);
        }
        using var response = await stack.Ingestion.PostAsync($"/collections/{collectionId}/images", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<IngestResponse>(body, JsonSerializerOptions.Web)!;
    }
}
