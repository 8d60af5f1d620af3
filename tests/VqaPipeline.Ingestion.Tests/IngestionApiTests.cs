using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Hosting;
using VqaPipeline.Hosting.Paging;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Ingestion.Tests.Support;
using VqaPipeline.Messaging;
using Xunit.Abstractions;

namespace VqaPipeline.Ingestion.Tests;

public sealed class IngestionApiTests(IngestionHost host, ITestOutputHelper output) : IClassFixture<IngestionHost>
{
    [StackFact]
    public async Task A_collection_is_created_listed_and_its_name_is_unique_and_non_empty()
    {
        var name = UniqueName("create");

        using var created = await host.Http.PostAsJsonAsync("/collections", new { name });
        using var duplicate = await host.Http.PostAsJsonAsync("/collections", new { name });
        using var empty = await host.Http.PostAsJsonAsync("/collections", new { name = "  " });
        var listed = (await host.Http.GetFromJsonAsync<Page<CollectionResponse>>("/collections"))!.Items;

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var collection = await created.Content.ReadFromJsonAsync<CollectionResponse>();
        Assert.Equal(name, collection!.Name);
        Assert.Contains(collection, listed!);
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.False(string.IsNullOrEmpty((await empty.Content.ReadFromJsonAsync<ErrorResponse>())!.Error));
    }

    [StackFact]
    public async Task Uploaded_images_are_stored_recorded_pending_logged_and_announced()
    {
        var collection = await CreateCollectionAsync("upload");
        var images = Fixtures.Images();

        var result = await UploadAsync(collection.Id, images.Select(path => (Path.GetFileName(path), File.ReadAllBytes(path))));

        Assert.Empty(result.Refused);
        Assert.Empty(result.Duplicates);
        Assert.Equal(images.Select(Path.GetFileName), result.Accepted.Select(a => a.FileName));
        await using var database = host.NewDatabase();
        foreach (var (accepted, path) in result.Accepted.Zip(images))
        {
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
            Assert.Equal(sha256, accepted.Sha256);
            var row = await database.Images.SingleAsync(i => i.Id == accepted.ImageId);
            Assert.Equal(ImageStatus.Pending, row.Status);
            Assert.Equal(collection.Id, row.CollectionId);
            var stored = await host.Store.StatAsync(row.ObjectKey);
            Assert.Equal(new FileInfo(path).Length, stored!.SizeBytes);
            var logged = await database.EventLog.SingleAsync(e => e.ImageId == accepted.ImageId && e.Direction == MessageDirection.Published);
            Assert.Equal("ImageIngested", logged.MessageType);
            Assert.Equal(MessageDirection.Published, logged.Direction);
            var message = await host.Messages.For(accepted.ImageId);
            Assert.Equal((collection.Id, row.ObjectKey, sha256, accepted.FileName), (message.CollectionId, message.ObjectKey, message.Sha256, message.FileName));
        }
    }

    [StackFact]
    public async Task The_same_bytes_twice_are_a_duplicate_stored_once()
    {
        var collection = await CreateCollectionAsync("duplicate");
        var path = Fixtures.Images()[0];
        var bytes = File.ReadAllBytes(path);

        var first = await UploadAsync(collection.Id, [("first.png", bytes)]);
        var second = await UploadAsync(collection.Id, [("second.png", bytes), ("third.png", bytes)]);

        var original = Assert.Single(first.Accepted);
        Assert.Empty(second.Accepted);
        Assert.Equal(2, second.Duplicates.Count);
        Assert.All(second.Duplicates, d => Assert.Equal((original.ImageId, original.Sha256), (d.ImageId, d.Sha256)));
        await using var database = host.NewDatabase();
        Assert.Equal(1, await database.Images.CountAsync(i => i.CollectionId == collection.Id));
        Assert.Single(await host.Store.ListAsync($"originals/{original.Sha256}"));
    }

    [StackFact]
    public async Task A_text_file_named_like_an_image_is_refused_with_a_reason()
    {
        var collection = await CreateCollectionAsync("text");

        var result = await UploadAsync(collection.Id, [("holiday.jpg", Encoding.UTF8.GetBytes("not really a picture"))]);

        Assert.Empty(result.Accepted);
        var refused = Assert.Single(result.Refused);
        Assert.Equal("holiday.jpg", refused.FileName);
        Assert.Contains("not an image", refused.Reason);
    }

    [StackFact]
    public async Task A_zip_has_its_escaping_and_absolute_entries_refused_and_its_good_entries_flattened_and_accepted()
    {
        var collection = await CreateCollectionAsync("zip");
        var images = Fixtures.Images();
        var archive = Zip(
            ("../evil.png", File.ReadAllBytes(images[0])),
            ("/etc/absolute.png", File.ReadAllBytes(images[1])),
            ("deep/nested/folder/good.png", File.ReadAllBytes(images[2])),
            ("deep/other/../also-good.jpg", File.ReadAllBytes(images[3])),
            ("deep/", []),
            ("deep/readme.txt", Encoding.UTF8.GetBytes("hello")));

        var result = await UploadAsync(collection.Id, [("batch.zip", archive)]);

        Assert.Equal(["good.png", "also-good.jpg"], result.Accepted.Select(a => a.FileName));
        Assert.Equal(["../evil.png", "/etc/absolute.png", "readme.txt"], result.Refused.Select(r => r.FileName));
        Assert.Contains("escapes", result.Refused[0].Reason);
        Assert.Contains("absolute", result.Refused[1].Reason);
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), "..", "evil.png")));
    }

    [StackFact]
    public async Task Images_are_fetched_by_url_and_unreachable_or_non_http_urls_are_refused()
    {
        var collection = await CreateCollectionAsync("urls");
        var image = Fixtures.Images().First(path => path.EndsWith(".jpg"));
        var port = IngestionHost.ClosedPort();
        using var server = new HttpListener();
        server.Prefixes.Add($"http://127.0.0.1:{port}/");
        server.Start();
        var serving = ServeAsync(server, File.ReadAllBytes(image));
        var closed = $"http://127.0.0.1:{IngestionHost.ClosedPort()}/gone.png";

        using var response = await host.Http.PostAsJsonAsync($"/collections/{collection.Id}/images/urls",
            new { urls = new[] { $"http://127.0.0.1:{port}/pictures/{Path.GetFileName(image)}", closed, "ftp://example.com/a.png" } });
        var result = (await response.Content.ReadFromJsonAsync<IngestResponse>())!;
        server.Stop();
        await serving;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var accepted = Assert.Single(result.Accepted);
        Assert.Equal(Path.GetFileName(image), accepted.FileName);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(image))), accepted.Sha256);
        Assert.Equal([closed, "ftp://example.com/a.png"], result.Refused.Select(r => r.FileName));
        Assert.All(result.Refused, r => Assert.False(string.IsNullOrWhiteSpace(r.Reason)));
        Assert.Contains("http or https", result.Refused[1].Reason);
    }

    [StackFact]
    public async Task An_unknown_collection_is_404_for_every_image_route()
    {
        var unknown = Guid.NewGuid();

        using var upload = await host.Http.PostAsync($"/collections/{unknown}/images", Form([("a.png", [1])]));
        using var urls = await host.Http.PostAsJsonAsync($"/collections/{unknown}/images/urls", new { urls = new[] { "http://127.0.0.1/" } });
        using var list = await host.Http.GetAsync($"/collections/{unknown}/images");

        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound],
            new[] { upload.StatusCode, urls.StatusCode, list.StatusCode });
        Assert.Contains(unknown.ToString(), (await list.Content.ReadFromJsonAsync<ErrorResponse>())!.Error);
    }

    [StackFact]
    public async Task Images_are_listed_with_an_optional_status_filter()
    {
        var collection = await CreateCollectionAsync("list");
        var images = Fixtures.Images().Take(3).ToList();
        var result = await UploadAsync(collection.Id, images.Select(path => (Path.GetFileName(path), File.ReadAllBytes(path))));
        await using (var database = host.NewDatabase())
        {
            var rejected = await database.Images.SingleAsync(i => i.Id == result.Accepted[0].ImageId);
            rejected.Status = ImageStatus.Rejected;
            rejected.RejectionReason = "cannot decode";
            await database.SaveChangesAsync();
        }

        var all = (await host.Http.GetFromJsonAsync<Page<ImageResponse>>($"/collections/{collection.Id}/images"))!.Items;
        var pending = (await host.Http.GetFromJsonAsync<Page<ImageResponse>>($"/collections/{collection.Id}/images?status=pending"))!.Items;
        var rejectedOnly = (await host.Http.GetFromJsonAsync<Page<ImageResponse>>($"/collections/{collection.Id}/images?status=rejected"))!.Items;
        using var bogus = await host.Http.GetAsync($"/collections/{collection.Id}/images?status=lost");

        Assert.Equal(result.Accepted.Select(a => a.ImageId).Order(), all!.Select(i => i.ImageId).Order());
        Assert.Equal(result.Accepted.Skip(1).Select(a => a.ImageId).Order(), pending!.Select(i => i.ImageId).Order());
        Assert.All(pending!, i => Assert.Equal("pending", i.Status));
        var rejectedImage = Assert.Single(rejectedOnly!);
        Assert.Equal(("rejected", "cannot decode", result.Accepted[0].FileName), (rejectedImage.Status, rejectedImage.Reason, rejectedImage.FileName));
        Assert.Equal(HttpStatusCode.BadRequest, bogus.StatusCode);
    }

    [StackFact]
    public async Task An_image_s_original_bytes_are_served_with_its_content_type_and_an_unknown_image_is_404()
    {
        var collection = await CreateCollectionAsync("content");
        var other = await CreateCollectionAsync("content-other");
        var path = Fixtures.Images()[0];
        var bytes = File.ReadAllBytes(path);
        var image = Assert.Single((await UploadAsync(collection.Id, [(Path.GetFileName(path), bytes)])).Accepted);

        using var content = await host.Http.GetAsync($"/collections/{collection.Id}/images/{image.ImageId}/content");
        using var unknown = await host.Http.GetAsync($"/collections/{collection.Id}/images/{Guid.NewGuid()}/content");
        using var elsewhere = await host.Http.GetAsync($"/collections/{other.Id}/images/{image.ImageId}/content");

        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal(bytes, await content.Content.ReadAsByteArrayAsync());
        Assert.StartsWith("image/", content.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
    }

    [StackFact]
    public async Task The_openapi_document_describes_the_routes()
    {
        using var document = JsonDocument.Parse(await host.Http.GetStringAsync("/openapi/v1.json"));

        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/collections", paths);
        Assert.Contains("/collections/{collectionId}/images", paths);
        Assert.Contains("/collections/{collectionId}/images/urls", paths);
    }

    [StackFact]
    public async Task Fifty_small_images_are_ingested_in_one_upload()
    {
        const int count = 50;
        var collection = await CreateCollectionAsync("rate");
        var smallest = Fixtures.Images().MinBy(path => new FileInfo(path).Length)!;
        var bytes = File.ReadAllBytes(smallest);
        // Trailing bytes after a PNG's end make distinct content that still starts like a PNG.
        var files = Enumerable.Range(0, count)
            .Select(i => ($"small-{i}.png", bytes.Concat(Encoding.ASCII.GetBytes($"{collection.Id}-{i}")).ToArray()))
            .ToList();

        var watch = Stopwatch.StartNew();
        var result = await UploadAsync(collection.Id, files);
        watch.Stop();

        Assert.Equal(count, result.Accepted.Count);
        output.WriteLine($"{count} images of {bytes.Length} bytes in {watch.Elapsed.TotalSeconds:0.00} s: "
                         + $"{count / watch.Elapsed.TotalSeconds:0.0} images/s");
    }

    [StackFact]
    public async Task A_mixed_upload_is_reported_in_the_order_of_its_files_with_in_request_duplicates_resolved()
    {
        var collection = await CreateCollectionAsync("order");
        var bytes = File.ReadAllBytes(Fixtures.Images().MinBy(path => new FileInfo(path).Length)!);
        byte[] Distinct(int i) => bytes.Concat(Encoding.ASCII.GetBytes($"{collection.Id}-{i}")).ToArray();
        var files = new List<(string Name, byte[] Bytes)>();
        for (var i = 0; i < 14; i++)
        {
            files.Add(($"image-{i:00}.png", Distinct(i)));
            if (i == 2)
                files.Add(("notes.jpg", Encoding.UTF8.GetBytes("not a picture")));
            if (i == 5)
                files.AddRange([("again-01-a.png", Distinct(1)), ("again-05.png", Distinct(5)), ("again-01-b.png", Distinct(1))]);
            if (i == 8)
                files.Add(("more.zip", Zip(("inside-a.png", Distinct(100)), ("inside-b.png", Distinct(8)))));
        }

        var result = await UploadAsync(collection.Id, files);

        var expectedAccepted = Enumerable.Range(0, 14).Select(i => $"image-{i:00}.png").ToList();
        expectedAccepted.Insert(9, "inside-a.png");
        Assert.Equal(expectedAccepted, result.Accepted.Select(a => a.FileName));
        var acceptedByName = result.Accepted.ToDictionary(a => a.FileName);
        Assert.Equal(["again-01-a.png", "again-05.png", "again-01-b.png", "inside-b.png"], result.Duplicates.Select(d => d.FileName));
        Assert.Equal([acceptedByName["image-01.png"].ImageId, acceptedByName["image-05.png"].ImageId,
                acceptedByName["image-01.png"].ImageId, acceptedByName["image-08.png"].ImageId],
            result.Duplicates.Select(d => d.ImageId));
        Assert.Equal("notes.jpg", Assert.Single(result.Refused).FileName);

        await using var database = host.NewDatabase();
        Assert.Equal(15, await database.Images.CountAsync(i => i.CollectionId == collection.Id));
        foreach (var (name, content) in files.Where(f => acceptedByName.ContainsKey(f.Name)))
        {
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
            Assert.Equal(sha256, acceptedByName[name].Sha256);
            Assert.Equal(content.Length, (await host.Store.StatAsync($"originals/{sha256}"))!.SizeBytes);
        }
    }

    [StackFact]
    public async Task A_file_name_that_would_forge_a_log_line_is_logged_on_one_line_with_its_line_break_escaped()
    {
        var collection = await CreateCollectionAsync("log-forging");
        var marker = Guid.NewGuid().ToString("N");
        var fileName = $"{marker}.png\r\n[FAKE] injected\u001b[31m\u202Egnp.exe";
        var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(File.ReadAllBytes(Fixtures.Images()[0]));
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        // filename* (RFC 5987) carries the line break as %0D%0A, as a hostile client can send it.
        part.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = "\"files\"", FileNameStar = fileName };
        form.Add(part);

        using var response = await host.Http.PostAsync($"/collections/{collection.Id}/images", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        var accepted = Assert.Single(JsonSerializer.Deserialize<IngestResponse>(body, JsonSerializerOptions.Web)!.Accepted);
        Assert.Equal(fileName, accepted.FileName); // the name itself is kept; only its log line is made safe

        var line = Assert.Single(CapturedLog.Instance.Lines, line => line.Contains(marker) && line.Contains("Ingested"));
        output.WriteLine(line);
        Assert.Equal(line.TrimEnd('\n', '\r'), line.TrimEnd('\n', '\r').ReplaceLineEndings(""));
        Assert.Contains($"{marker}.png\\r\\n[FAKE] injected\\u001B[31m\\u202Egnp.exe", line);
        Assert.DoesNotContain(CapturedLog.Instance.Lines, logged => logged.StartsWith("[FAKE]", StringComparison.Ordinal));
    }

    private static string UniqueName(string prefix) => $"ingestion-test-{prefix}-{Guid.NewGuid():N}";

    private async Task<CollectionResponse> CreateCollectionAsync(string prefix)
    {
        using var response = await host.Http.PostAsJsonAsync("/collections", new { name = UniqueName(prefix) });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<CollectionResponse>())!;
    }

    private async Task<IngestResponse> UploadAsync(Guid collectionId, IEnumerable<(string Name, byte[] Bytes)> files)
    {
        using var response = await host.Http.PostAsync($"/collections/{collectionId}/images", Form(files));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<IngestResponse>(body, JsonSerializerOptions.Web)!;
    }

    private static MultipartFormDataContent Form(IEnumerable<(string Name, byte[] Bytes)> files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", name);
        }
        return form;
    }

    private static byte[] Zip(params (string Path, byte[] Bytes)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (path, bytes) in entries)
            {
                using var stream = zip.CreateEntry(path).Open();
                stream.Write(bytes);
            }
        }
        return buffer.ToArray();
    }

    private static async Task ServeAsync(HttpListener server, byte[] image)
    {
        try
        {
            while (server.IsListening)
            {
                var context = await server.GetContextAsync();
                context.Response.ContentType = "image/jpeg";
                context.Response.ContentLength64 = image.Length;
                await context.Response.OutputStream.WriteAsync(image);
                context.Response.Close();
            }
        }
        catch (HttpListenerException)
        {
            // Stop() ends the pending GetContextAsync.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
