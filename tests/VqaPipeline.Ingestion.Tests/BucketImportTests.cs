using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Cli;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Gateway;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Ingestion.Tests.Support;
using VqaPipeline.Messaging;
using VqaPipeline.Ml.Checkpoints.Hub;
using Xunit.Abstractions;

namespace VqaPipeline.Ingestion.Tests;

public sealed class BucketImportTests(ImportStack stack, ITestOutputHelper output) : IClassFixture<ImportStack>
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);

    [StackFact]
    public async Task Two_hundred_objects_import_once_each_across_a_restart_of_the_ingestion_service()
    {
        var collectionId = await stack.NewCollectionAsync("restart");
        var prefix = $"import-tests/{Guid.NewGuid():N}/";
        var salt = Random.Shared.Next();
        var objects = new List<(string Key, byte[] Bytes)>();
        for (var i = 0; i < 180; i++)
            objects.Add(($"{prefix}photos/img-{i:000}.png", ImportStack.Png(salt + i)));
        // Copies of other images: "img-000-copy.png" is listed just before "img-000.png" ('-' sorts before '.'), and
        // "aaa-first-copy.png" long before its original: the first key listed is the image.
        for (var i = 0; i < 14; i++)
            objects.Add(($"{prefix}photos/img-{i * 10:000}-copy.png", objects[i * 10].Bytes));
        objects.Add(($"{prefix}aaa-first-copy.png", objects[179].Bytes));
        // PNGs by their signature that preprocessing cannot decode, and a text file.
        for (var i = 0; i < 4; i++)
            objects.Add(($"{prefix}broken/cut-{i}.png", [.. ImportStack.Png(salt - 1 - i)[..40], .. Encoding.ASCII.GetBytes($"cut {i}")]));
        objects.Add(($"{prefix}notes.txt", Encoding.UTF8.GetBytes("not a picture")));
        Assert.Equal(200, objects.Count);
        await stack.PutAsync(stack.Store.Bucket, objects);

        var location = await stack.StartImportAsync(collectionId, stack.Store.Bucket, prefix);
        var beforeStop = await stack.WaitForImportAsync(location, i => i.Listed >= 2 * ImportStack.PageSize + 10 || i.State != "running", Patience);
        await stack.Stack.StopServiceAsync(Services.Ingestion);
        await using (var database = stack.NewDatabase())
            beforeStop = Progress(await database.Imports.AsNoTracking().SingleAsync(i => i.CollectionId == collectionId));
        await stack.Stack.StartServiceAsync(Services.Ingestion);
        var import = await stack.WaitForImportAsync(location, i => i.State != "running", Patience);
        output.WriteLine($"stopped at {beforeStop.Listed} of 200 listed; ended {import}");

        Assert.Equal("running", beforeStop.State);
        Assert.InRange(beforeStop.Listed, 1, 199);
        var firstKeyByContent = objects.Where(o => !o.Key.EndsWith(".txt"))
            .GroupBy(o => Sha256(o.Bytes))
            .ToDictionary(g => g.Key, g => g.Select(o => o.Key).Min(StringComparer.Ordinal)!);
        Assert.Equal(("completed", 200L, 184L, 15L, 1L), (import.State, import.Listed, import.Registered, import.Duplicates, import.Skipped));
        var skipped = Assert.Single(import.SkippedObjects);
        Assert.Equal($"{prefix}notes.txt", skipped.Key);
        Assert.Contains("not an image", skipped.Reason);

        await using var ingestion = stack.NewDatabase();
        var images = await WaitUntilPreprocessedAsync(ingestion, collectionId, firstKeyByContent.Count);
        // Each content is one image, and that image is the first key holding it, registered where it is.
        Assert.Equal(firstKeyByContent.OrderBy(p => p.Key), images.Select(i => KeyValuePair.Create(i.Sha256, i.ObjectKey)).OrderBy(p => p.Key));
        Assert.All(images, i => Assert.Equal(i.ObjectKey, i.FileName));
        var rejected = images.Where(i => i.Status == ImageStatus.Rejected).ToList();
        Assert.Equal(objects.Where(o => o.Key.Contains("/broken/")).Select(o => o.Key).Order(), rejected.Select(i => i.ObjectKey).Order());
        Assert.All(rejected, i => Assert.False(string.IsNullOrWhiteSpace(i.RejectionReason)));
        Assert.All(images.Except(rejected), i => Assert.Equal(ImageStatus.Ready, i.Status));
        var announced = await ingestion.EventLog.AsNoTracking()
            .Where(e => e.CollectionId == collectionId && e.Direction == MessageDirection.Published && e.MessageType == nameof(ImageIngested))
            .Select(e => e.ImageId)
            .ToListAsync();
        Assert.Equal(images.Select(i => (Guid?)i.Id).Order(), announced.Order());
    }

    [StackFact]
    public async Task A_foreign_bucket_is_copied_into_the_systems_bucket_by_content()
    {
        var collectionId = await stack.NewCollectionAsync("foreign");
        var bucket = $"import-test-{Guid.NewGuid():N}";
        await stack.Store.EnsureBucketAsync(bucket);
        var salt = Random.Shared.Next();
        byte[] first = ImportStack.Png(salt), second = ImportStack.Png(salt + 1);
        await stack.PutAsync(bucket, [("a.png", first), ("b.png", second), ("c.png", first)]);

        var location = await stack.StartImportAsync(collectionId, bucket, "");
        var import = await stack.WaitForImportAsync(location, i => i.State != "running", Patience);

        Assert.Equal(("completed", 3L, 2L, 1L, 0L), (import.State, import.Listed, import.Registered, import.Duplicates, import.Skipped));
        await using var ingestion = stack.NewDatabase();
        var images = await WaitUntilPreprocessedAsync(ingestion, collectionId, 2);
        Assert.Equal([("a.png", $"originals/{Sha256(first)}"), ("b.png", $"originals/{Sha256(second)}")],
            images.OrderBy(i => i.FileName).Select(i => (i.FileName, i.ObjectKey)));
        Assert.All(images, i => Assert.Equal(ImageStatus.Ready, i.Status));
        Assert.Equal(first.Length, (await stack.Store.StatAsync($"originals/{Sha256(first)}"))!.SizeBytes);
    }

    [StackFact]
    public async Task A_bucket_that_does_not_exist_fails_the_import_with_that_reason()
    {
        var collectionId = await stack.NewCollectionAsync("missing");
        var bucket = $"no-such-bucket-{Guid.NewGuid():N}";

        var location = await stack.StartImportAsync(collectionId, bucket, "photos/");
        var import = await stack.WaitForImportAsync(location, i => i.State != "running", Patience);

        Assert.Equal("failed", import.State);
        Assert.Equal($"bucket '{bucket}' does not exist", import.Reason);
        Assert.Equal(0, import.Listed);
    }

    [StackFact]
    public async Task An_unknown_collection_is_404_and_a_missing_or_invalid_bucket_or_body_is_400()
    {
        var collectionId = await stack.NewCollectionAsync("bad-input");

        using var unknownCollection = await stack.Api.PostAsJsonAsync($"/collections/{Guid.NewGuid()}/imports", new { bucket = "vqa-images" });
        using var noBucket = await stack.Api.PostAsJsonAsync($"/collections/{collectionId}/imports", new { prefix = "a/" });
        using var invalidBucket = await stack.Api.PostAsJsonAsync($"/collections/{collectionId}/imports", new { bucket = "Not_A_Bucket" });
        using var notJson = await stack.Api.PostAsync($"/collections/{collectionId}/imports",
            new StringContent("{\"bucket\": ", Encoding.UTF8, "application/json"));
        using var unknownImport = await stack.Api.GetAsync($"/collections/{collectionId}/imports/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.NotFound, unknownCollection.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noBucket.StatusCode);
        Assert.Contains("bucket", (await noBucket.Content.ReadFromJsonAsync<ErrorResponse>())!.Error);
        Assert.Equal(HttpStatusCode.BadRequest, invalidBucket.StatusCode);
        Assert.Contains("not a valid bucket name", (await invalidBucket.Content.ReadFromJsonAsync<ErrorResponse>())!.Error);
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownImport.StatusCode);
        await using var ingestion = stack.NewDatabase();
        Assert.False(await ingestion.Imports.AnyAsync(i => i.CollectionId == collectionId));
    }

    [StackFact]
    public async Task Vqa_import_follows_an_import_to_its_summary()
    {
        var collectionId = await stack.NewCollectionAsync("cli");
        var prefix = $"import-tests/{Guid.NewGuid():N}/";
        await stack.PutAsync(stack.Store.Bucket,
            [($"{prefix}one.png", ImportStack.Png(Random.Shared.Next())), ($"{prefix}readme.md", Encoding.UTF8.GetBytes("# hi"))]);

        var (exitCode, stdout, stderr) = await VqaAsync("import", "--api-url", stack.Stack.AddressOf(GatewayService.Name).ToString(), "--api-key", stack.Stack.ApiKey,
            "--collection", collectionId.ToString(), "--bucket", stack.Store.Bucket, "--prefix", prefix, "--interval", "0.2");

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("completed: 2 objects listed, 1 registered, 0 duplicates, 1 skipped", stdout);
        Assert.Contains($"skipped {prefix}readme.md: not an image", stdout);
        Assert.Contains("listed 2 · registered 1 · duplicates 0 · skipped 1", stderr);
    }

    [StackFact]
    public async Task Vqa_import_with_bad_input_says_why_in_one_line_and_exits_1()
    {
        var gateway = stack.Stack.AddressOf(GatewayService.Name).ToString();
        var collectionId = await stack.NewCollectionAsync("cli-errors");

        var notAnId = await VqaAsync("import", "--api-url", gateway, "--collection", "shoes", "--bucket", "vqa-images");
        var badBucket = await VqaAsync("import", "--api-url", gateway, "--api-key", stack.Stack.ApiKey, "--collection", collectionId.ToString(), "--bucket", "Bad_Bucket");
        var unknown = await VqaAsync("import", "--api-url", gateway, "--api-key", stack.Stack.ApiKey, "--collection", Guid.NewGuid().ToString(), "--bucket", "vqa-images");
        var missing = await VqaAsync("import", "--api-url", gateway, "--api-key", stack.Stack.ApiKey, "--collection", collectionId.ToString(),
            "--bucket", $"no-such-bucket-{Guid.NewGuid():N}", "--interval", "0.2");
        var noBucket = await VqaAsync("import", "--collection", collectionId.ToString());

        foreach (var (exitCode, _, stderr) in new[] { notAnId, badBucket, unknown, missing, noBucket })
        {
            Assert.Equal(1, exitCode);
            var lastLine = stderr.TrimEnd().Split('\n')[^1];
            Assert.StartsWith("error: ", lastLine);
            Assert.DoesNotContain("   at ", stderr);
        }
        Assert.Contains("not a collection id", notAnId.Stderr);
        Assert.Contains("not a valid bucket name", badBucket.Stderr);
        Assert.Contains("does not exist", unknown.Stderr);
        Assert.Contains("failed: bucket 'no-such-bucket-", missing.Stderr);
        Assert.Contains("--bucket", noBucket.Stderr);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> VqaAsync(params string[] args)
    {
        using StringWriter stdout = new(), stderr = new();
        var exitCode = await VqaCommandLine.RunAsync(args, stdout, stderr, new HubOptions());
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The collection's images once there are <paramref name="count"/> and none is pending.</summary>
    private static async Task<List<Image>> WaitUntilPreprocessedAsync(IngestionDbContext database, Guid collectionId, int count)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (true)
        {
            var images = await database.Images.AsNoTracking().Where(i => i.CollectionId == collectionId).ToListAsync();
            if (images.Count >= count && images.All(i => i.Status != ImageStatus.Pending))
                return images;
            Assert.True(DateTimeOffset.UtcNow < deadline,
                $"{images.Count(i => i.Status == ImageStatus.Pending)} of {images.Count} images still pending");
            await Task.Delay(250);
        }
    }

    private static ImportResponse Progress(BucketImport import) =>
        new(import.Id, import.CollectionId, import.Bucket, import.Prefix, import.State.ToString().ToLowerInvariant(),
            import.FailureReason, import.LastKey, import.Listed, import.Registered, import.Duplicates, import.Skipped, [],
            import.CreatedAt, import.UpdatedAt);

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
