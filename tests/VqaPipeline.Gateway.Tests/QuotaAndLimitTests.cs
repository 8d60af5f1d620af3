using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Gateway.Tests;

/// <summary>
/// Per-team quotas of work in flight and the request limits, on real servers through the gateway: ingestion,
/// inference (its API only: jobs stay in flight) and training (its API only: runs stay queued), no preprocessing
/// (uploaded images stay pending), with small limits so a test reaches them in a few requests.
/// </summary>
public sealed class QuotaAndLimitTests : IAsyncLifetime
{
    private const int UploadsInFlight = 2;
    private const int JobsInFlight = 1;
    private const int TrainingRunsQueued = 1;
    private const string GenerousTeam = "quota-generous";
    private const int GenerousJobsInFlight = 2;
    private const int MaxArchiveEntries = 1000;
    private const long MaxArchiveBytes = 64L * 1024 * 1024;
    private const long MaxUploadBytes = 32L * 1024 * 1024;
    private const int MaxUrls = 3;
    private const int MaxAnswersPerImage = 50;
    private static readonly string Model = Fixtures.PathOf("vilt-tiny");

    private ServiceStack? _stack;

    private ServiceStack Stack => _stack!;

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "quotas",
            InProcess = [Services.Ingestion, Services.Inference, Services.Training],
            Settings = new Dictionary<string, string?>
            {
                ["Quotas:UploadsInFlight"] = $"{UploadsInFlight}",
                ["Quotas:JobsInFlight"] = $"{JobsInFlight}",
                ["Quotas:TrainingRunsQueued"] = $"{TrainingRunsQueued}",
                [$"Quotas:Teams:{GenerousTeam}:JobsInFlight"] = $"{GenerousJobsInFlight}",
                ["Ingestion:MaxArchiveEntries"] = $"{MaxArchiveEntries}",
                ["Ingestion:MaxArchiveBytes"] = $"{MaxArchiveBytes}",
                ["Ingestion:MaxRequestBytes"] = $"{MaxUploadBytes}",
                ["Ingestion:MaxUrlsPerRequest"] = $"{MaxUrls}",
                ["Inference:AnswerImages"] = "false",
                ["Inference:MaxAnswersPerImage"] = $"{MaxAnswersPerImage}",
                ["Training:RunWorker"] = "false",
            },
        });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }

    [StackFact]
    public async Task Uploads_past_a_teams_images_in_flight_get_429_with_retry_after_until_they_drain_and_another_team_goes_on()
    {
        using var teamA = await OtherTeam.CreateAsync(Stack, "uploads-a");
        using var teamB = await OtherTeam.CreateAsync(Stack, "uploads-b");
        var collectionA = await CollectionAsync(teamA.Api);
        var collectionB = await CollectionAsync(teamB.Api);
        var images = Fixtures.Images();
        using (var filled = await teamA.Api.PostAsync($"/collections/{collectionA}/images", Upload(images[0], images[1])))
            Assert.True(filled.IsSuccessStatusCode, await filled.Content.ReadAsStringAsync());

        // Every way of adding images is refused while the team's images wait for preprocessing.
        var expected = $"team '{teamA.Name}' is at its UploadsInFlight quota: {UploadsInFlight} images waiting for preprocessing, limit {UploadsInFlight}";
        using (var upload = await teamA.Api.PostAsync($"/collections/{collectionA}/images", Upload(images[2])))
            await AssertOverQuotaAsync(upload, expected, retryAfterSeconds: 30);
        using (var urls = await teamA.Api.PostAsJsonAsync($"/collections/{collectionA}/images/urls", new { urls = new[] { "http://127.0.0.1:9/x.png" } }))
            await AssertOverQuotaAsync(urls, expected, retryAfterSeconds: 30);
        using (var import = await teamA.Api.PostAsJsonAsync($"/collections/{collectionA}/imports", new { bucket = Stack.Store.Bucket, prefix = "client-drop/" }))
            await AssertOverQuotaAsync(import, expected, retryAfterSeconds: 30);
        using (var otherTeam = await teamB.Api.PostAsync($"/collections/{collectionB}/images", Upload(images[2])))
            Assert.True(otherTeam.IsSuccessStatusCode, await otherTeam.Content.ReadAsStringAsync());

        // Preprocessing's outcome for one image (what ImagePreprocessed does to the row) frees a place.
        await using (var database = Stack.Ingestion())
            await database.Images.Where(i => i.CollectionId == collectionA).Take(1)
                .ExecuteUpdateAsync(set => set.SetProperty(i => i.Status, ImageStatus.Ready));
        using var afterDrain = await teamA.Api.PostAsync($"/collections/{collectionA}/images", Upload(images[2]));
        Assert.True(afterDrain.IsSuccessStatusCode, await afterDrain.Content.ReadAsStringAsync());
    }

    [StackFact]
    public async Task Jobs_past_a_teams_jobs_in_flight_get_429_until_one_ends_and_a_team_with_its_own_limit_gets_more()
    {
        using var teamA = await OtherTeam.CreateAsync(Stack, "jobs-a");
        var generous = await TeamClientAsync(GenerousTeam);
        var collectionA = await CollectionWithPendingImageAsync(teamA.Api);
        var collectionGenerous = await CollectionWithPendingImageAsync(generous);

        var first = await SubmitJobAsync(teamA.Api, collectionA);
        using (var refused = await teamA.Api.PostAsJsonAsync("/jobs", JobBody(collectionA)))
            await AssertOverQuotaAsync(refused,
                $"team '{teamA.Name}' is at its JobsInFlight quota: {JobsInFlight} question jobs pending or running, limit {JobsInFlight}", 30);

        // The team named in Quotas:Teams has its own limit; team A's jobs do not count against it.
        for (var i = 0; i < GenerousJobsInFlight; i++)
            await SubmitJobAsync(generous, collectionGenerous);
        using (var generousRefused = await generous.PostAsJsonAsync("/jobs", JobBody(collectionGenerous)))
            Assert.Equal(HttpStatusCode.TooManyRequests, generousRefused.StatusCode);

        using (var cancelled = await teamA.Api.PostAsync($"/jobs/{first}/cancel", null))
            Assert.True(cancelled.IsSuccessStatusCode, await cancelled.Content.ReadAsStringAsync());
        await SubmitJobAsync(teamA.Api, collectionA);
    }

    [StackFact]
    public async Task Training_runs_past_a_teams_queued_runs_get_429_until_one_is_cancelled_and_another_team_goes_on()
    {
        using var teamA = await OtherTeam.CreateAsync(Stack, "training-a");
        using var teamB = await OtherTeam.CreateAsync(Stack, "training-b");
        var prefix = $"client-datasets/quota-{Guid.NewGuid():N}";
        await using (var readme = new MemoryStream("a dataset\n"u8.ToArray()))
            await Stack.Store.PutAtAsync(Stack.Store.Bucket, $"{prefix}/metadata.jsonl", readme, "application/x-ndjson");
        var run = new { modelName = "quota", dataset = new { objectPrefix = prefix }, baseModel = Model, maxSteps = 1, batchSize = 1 };

        var first = await AcceptedIdAsync(await teamA.Api.PostAsJsonAsync("/training-runs", run));
        using (var refused = await teamA.Api.PostAsJsonAsync("/training-runs", run))
            await AssertOverQuotaAsync(refused,
                $"team '{teamA.Name}' is at its TrainingRunsQueued quota: {TrainingRunsQueued} training runs queued or running, limit {TrainingRunsQueued}", 300);
        await AcceptedIdAsync(await teamB.Api.PostAsJsonAsync("/training-runs", run));

        using (var cancelled = await teamA.Api.PostAsync($"/training-runs/{first}/cancel", null))
            Assert.True(cancelled.IsSuccessStatusCode, await cancelled.Content.ReadAsStringAsync());
        await AcceptedIdAsync(await teamA.Api.PostAsJsonAsync("/training-runs", run));
    }

    [StackFact]
    public async Task A_json_body_over_a_mebibyte_is_413_through_the_gateway_while_labels_and_uploads_take_more()
    {
        var collection = await CollectionAsync(Stack.Api);
        using (var big = await Stack.Api.PostAsync("/collections",
                   new StringContent($$"""{"name": "{{new string('x', 2 * 1024 * 1024)}}"}""", Encoding.UTF8, "application/json")))
            await AssertProblemAsync(big, HttpStatusCode.RequestEntityTooLarge,
                $"the request body is larger than the {RequestBodyLimits.DefaultJsonBodyBytes} bytes POST /collections takes");

        // 1.5 MiB of labels is read (and refused for what it says, not for its size).
        var labels = Enumerable.Range(0, 6000).Select(_ => new { imageId = Guid.NewGuid(), question = new string('q', 200), answers = new[] { "yes" } });
        using (var manyLabels = await Stack.Api.PostAsJsonAsync($"/collections/{collection}/labels", labels))
            Assert.Equal(HttpStatusCode.BadRequest, manyLabels.StatusCode);

        // 2 MiB that is no image is read and refused as such; past the upload limit the body is 413.
        using (var twoMebibytes = await Stack.Api.PostAsync($"/collections/{collection}/images", Form(("notes.png", new byte[2 * 1024 * 1024]))))
        {
            Assert.Equal(HttpStatusCode.OK, twoMebibytes.StatusCode);
            Assert.Contains("not an image", await twoMebibytes.Content.ReadAsStringAsync());
        }
        using (var overUploadLimit = await Stack.Api.PostAsync($"/collections/{collection}/images",
                   Form(("big.png", new byte[MaxUploadBytes + 1024]))))
            await AssertProblemAsync(overUploadLimit, HttpStatusCode.RequestEntityTooLarge,
                $"the request body is larger than the {MaxUploadBytes} bytes POST /collections/{collection}/images takes");
    }

    [StackFact]
    public async Task A_zip_bomb_and_a_zip_of_a_hundred_thousand_entries_are_413_before_anything_is_inflated()
    {
        var collection = await CollectionAsync(Stack.Api);
        var bomb = Zip(archive =>
        {
            using var entry = archive.CreateEntry("zeros.png", CompressionLevel.SmallestSize).Open();
            var zeros = new byte[1024 * 1024];
            for (var i = 0; i < 1024; i++)
                entry.Write(zeros);
        });
        Assert.InRange(bomb.Length, 1, 2 * 1024 * 1024);
        using (var refused = await Stack.Api.PostAsync($"/collections/{collection}/images", Form(("bomb.zip", bomb))))
            await AssertProblemAsync(refused, HttpStatusCode.RequestEntityTooLarge,
                $"bomb.zip expands to {1024L * 1024 * 1024} bytes, more than the {MaxArchiveBytes} bytes an archive may hold");

        var crowded = Zip(archive =>
        {
            for (var i = 0; i < 100_000; i++)
                archive.CreateEntry($"{i}.png", CompressionLevel.NoCompression);
        });
        using (var refused = await Stack.Api.PostAsync($"/collections/{collection}/images", Form(("crowded.zip", crowded))))
            await AssertProblemAsync(refused, HttpStatusCode.RequestEntityTooLarge,
                $"crowded.zip has 100000 entries, more than the {MaxArchiveEntries} an archive may have");

        await using var database = Stack.Ingestion();
        Assert.False(await database.Images.AnyAsync(i => i.CollectionId == collection));
    }

    [StackFact]
    public async Task Too_many_urls_too_many_answers_per_image_and_questions_or_models_too_long_are_400_with_the_numbers()
    {
        var collection = await CollectionAsync(Stack.Api);
        using (var urls = await Stack.Api.PostAsJsonAsync($"/collections/{collection}/images/urls",
                   new { urls = Enumerable.Range(0, MaxUrls + 1).Select(i => $"http://127.0.0.1:9/{i}.png") }))
            await AssertProblemAsync(urls, HttpStatusCode.BadRequest, $"give at most {MaxUrls} URLs per request, not {MaxUrls + 1}");

        var tenQuestions = Enumerable.Range(0, 10).Select(i => $"Is there {i}?").ToArray();
        using (var product = await Stack.Api.PostAsJsonAsync("/jobs", new { collectionId = collection, questions = tenQuestions, topK = 6, model = Model }))
            await AssertProblemAsync(product, HttpStatusCode.BadRequest,
                $"10 questions × topK 6 = 60 answers per image, more than {MaxAnswersPerImage}");

        var dont = string.Join(' ', Enumerable.Repeat("dont", 200));
        var cjk = string.Concat(Enumerable.Repeat("猫", 1000));
        foreach (var (question, reason) in new[] { (dont, "bytes once normalized (UTF-8), more than 1000"), (cjk, "3000 bytes once normalized") })
        {
            using var response = await Stack.Api.PostAsJsonAsync("/jobs", new { collectionId = collection, questions = new[] { question }, model = Model });
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, reason);
        }
        using (var longModel = await Stack.Api.PostAsJsonAsync("/jobs",
                   new { collectionId = collection, questions = new[] { "Is it red?" }, model = "/" + new string('m', 599) }))
            await AssertProblemAsync(longModel, HttpStatusCode.BadRequest, $"the model is 600 bytes (UTF-8), more than {TextLimits.MaxModelBytes}");
    }

    private static async Task AssertOverQuotaAsync(HttpResponseMessage response, string detail, int retryAfterSeconds)
    {
        await AssertProblemAsync(response, HttpStatusCode.TooManyRequests, detail);
        Assert.Equal(retryAfterSeconds, int.Parse(response.Headers.GetValues("Retry-After").Single()));
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detailPart)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {body}");
        Assert.Equal(ApiProblem.ContentType, response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Contains(detailPart, problem.RootElement.GetProperty("detail").GetString());
    }

    private async Task<HttpClient> TeamClientAsync(string team)
    {
        await Stack.Keys.CreateTeamAsync(team, ifAbsent: true);
        var client = new HttpClient { BaseAddress = Stack.Api.BaseAddress, Timeout = Stack.Api.Timeout };
        client.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Bearer", (await Stack.Keys.CreateKeyAsync(team, "admin", expiresAt: null)).Key);
        return client;
    }

    private static async Task<Guid> CollectionAsync(HttpClient api)
    {
        using var created = await api.PostAsJsonAsync("/collections", new { name = $"quota-{Guid.NewGuid():N}" });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    /// <summary>A collection with one image that stays pending (no preprocessing here), so its jobs stay in flight.</summary>
    private static async Task<Guid> CollectionWithPendingImageAsync(HttpClient api)
    {
        var collection = await CollectionAsync(api);
        using var uploaded = await api.PostAsync($"/collections/{collection}/images", Upload(Fixtures.Images()[0]));
        Assert.True(uploaded.IsSuccessStatusCode, await uploaded.Content.ReadAsStringAsync());
        return collection;
    }

    private static object JobBody(Guid collection) => new { collectionId = collection, questions = new[] { "Is it red?" }, model = Model };

    private static async Task<Guid> SubmitJobAsync(HttpClient api, Guid collection) =>
        await AcceptedIdAsync(await api.PostAsJsonAsync("/jobs", JobBody(collection)));

    private static async Task<Guid> AcceptedIdAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.True(HttpStatusCode.Accepted == response.StatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            return body.GetProperty("id").GetGuid();
        }
    }

    private static MultipartFormDataContent Upload(params string[] paths) =>
        Form(paths.Select(path => (Path.GetFileName(path), File.ReadAllBytes(path))).ToArray());

    private static MultipartFormDataContent Form(params (string Name, byte[] Content)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, content) in files)
            form.Add(new ByteArrayContent(content), "files", name);
        return form;
    }

    private static byte[] Zip(Action<ZipArchive> write)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            write(archive);
        return buffer.ToArray();
    }
}
