using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using SkiaSharp;
using Microsoft.Extensions.Configuration;
using VqaPipeline.Inference;
using VqaPipeline.Inference.Data;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Storage;

namespace VqaPipeline.Benchmarks;

/// <summary>
/// <c>VqaPipeline.Benchmarks pipeline FIXTURES [IMAGES]</c> (run by <c>infra/local/bench-inference.sh</c>):
/// the same preprocessed images and questions answered by the engine in this process and by a job through the running
/// services (<c>VQA_API_URL</c>, with an inference worker on the same settings), with a random ViLT-B/32.
/// Model loading is left out of both: the engine answers one untimed group first, and the service answers an untimed
/// one-image job first. Three rounds, each timing the engine and then the service.
/// </summary>
internal static class PipelineBench
{
    private static readonly string[] Questions = ["What colour is the product?", "Is the background white?", "How many cats are there?"];
    private const int TopK = 5;
    private const int Rounds = 3;

    public static async Task<int> RunAsync(string[] args)
    {
        var imageCount = 20;
        if (args.Length is < 1 or > 2 || !Directory.Exists(Path.Combine(args[0], "images"))
            || (args.Length == 2 && (!int.TryParse(args[1], out imageCount) || imageCount < 1)))
        {
            Console.Error.WriteLine("usage: VqaPipeline.Benchmarks pipeline FIXTURES_FOLDER [IMAGES (default 20)]");
            return 2;
        }
        var fixtures = args[0];
        var settings = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var options = settings.GetSection(InferenceOptions.Section).Get<InferenceOptions>() ?? new InferenceOptions();
        using var api = new HttpClient
        {
            BaseAddress = new Uri(settings["VQA_API_URL"] ?? "http://127.0.0.1:5080"), Timeout = TimeSpan.FromMinutes(5),
        };
        api.DefaultRequestHeaders.Authorization = new("Bearer", settings["VQA_API_KEY"] ?? throw new InvalidOperationException("VQA_API_KEY is not set"));
        // An operator's tool: it reads the services' schemas with the server's own login (VQA_POSTGRES).
        var server = settings["VQA_POSTGRES"] ?? throw new InvalidOperationException("VQA_POSTGRES is not set");
        await using var images = IngestionDbContext.Open(server);
        await using var jobs = InferenceDbContext.Open(server);
        using var store = new ObjectStore(ObjectStoreOptions.FromEnvironment());

        Console.WriteLine($"load average {LoadAverage()} at start");
        var model = WriteModelOnce(Path.Combine(fixtures, "bert-base-uncased-vocab", "vocab.txt"));
        var fixtureImages = Directory.GetFiles(Path.Combine(fixtures, "images"))
            .Where(path => !path.EndsWith(".md", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileName(path), File.ReadAllBytes(path))).ToList();
        var files = fixtureImages.Concat(GeneratedImages(Math.Max(0, imageCount - fixtureImages.Count))).Take(imageCount).ToList();
        var warmUpCollection = await IngestAsync(api, "bench-warm-up", [fixtureImages[0]]);
        var collection = await IngestAsync(api, "bench-pipeline", files);

        var fetch = Stopwatch.StartNew();
        var rows = await images.Images.AsNoTracking().Where(i => i.CollectionId == collection && i.Status == ImageStatus.Ready)
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id).ToListAsync();
        var loader = new ImageLoader();
        var pixels = new List<RgbImage>();
        foreach (var row in rows)
        {
            await using var content = await store.GetAsync(row.PreprocessedObjectKey!);
            pixels.Add(loader.LoadStream(content));
        }
        var fetchSeconds = fetch.Elapsed.TotalSeconds;
        var pairs = pixels.Count * Questions.Length;
        Console.WriteLine($"{pixels.Count} images ready ({string.Join(", ", pixels.Select(p => $"{p.Width}x{p.Height}").Distinct())}), " +
                          $"{Questions.Length} questions: {pairs} pairs; fetched and decoded one by one in {fetchSeconds:F2} s");

        using var engine = VqaEngine.FromPretrained(model, new VqaEngineOptions { BatchSize = options.EngineBatchSize, Threads = options.Threads });
        var groups = ConsumeGroups(options, pixels);
        engine.Ask(groups[^1], TopK);
        var warmUp = await RunJobAsync(api, warmUpCollection, model);
        Console.WriteLine($"service warm-up job (1 image, model load included): {warmUp.TotalSeconds:F2} s");

        // Rounds alternate, so that other load on the machine weighs on both sides alike.
        double engineTotal = 0, serviceTotal = 0, serviceSeconds = 0;
        var jobId = Guid.Empty;
        for (var round = 1; round <= Rounds; round++)
        {
            var engineSeconds = TimeEngine(engine, groups);
            var engineLoad = LoadAverage();
            serviceSeconds = (await RunJobAsync(api, collection, model, id => jobId = id)).TotalSeconds;
            Console.WriteLine($"round {round}: engine in-process {engineSeconds:F2} s = {pairs / engineSeconds:F2} pairs/s (load {engineLoad}); " +
                              $"service job {serviceSeconds:F2} s = {pairs / serviceSeconds:F2} pairs/s (load {LoadAverage()}); " +
                              $"ratio {engineSeconds / serviceSeconds * 100:F1}%");
            engineTotal += engineSeconds;
            serviceTotal += serviceSeconds;
        }
        await PrintTimelineAsync(jobs, jobId, serviceSeconds);
        Console.WriteLine($"engine {Rounds * pairs / engineTotal:F2} pairs/s, service {Rounds * pairs / serviceTotal:F2} pairs/s: " +
                          $"ratio service / engine {engineTotal / serviceTotal * 100:F1}% over {Rounds} rounds");
        return 0;
    }

    /// <summary>The random model, written once into the temporary folder and reused, so a running worker loads it once.</summary>
    private static string WriteModelOnce(string vocabularyPath)
    {
        var folder = Path.Combine(Path.GetTempPath(), "vqa-bench-vilt-b32");
        if (Directory.Exists(folder))
            return folder;
        Console.WriteLine($"writing a random ViLT-B/32 to {folder}");
        var partial = $"{folder}.partial-{Guid.NewGuid():N}";
        Directory.CreateDirectory(partial);
        RandomViltB32.Write(partial, vocabularyPath);
        Directory.Move(partial, folder);
        return folder;
    }

    /// <summary>Shapes and colours drawn from the index: PNGs and JPEGs of mixed sizes and aspect ratios.</summary>
    private static IEnumerable<(string FileName, byte[] Bytes)> GeneratedImages(int count)
    {
        (int Width, int Height)[] sizes = [(320, 240), (640, 480), (480, 640), (1024, 768), (200, 600), (800, 200), (1280, 720), (96, 96)];
        for (var i = 0; i < count; i++)
        {
            var (width, height) = sizes[i % sizes.Length];
            var random = new Random(i);
            SKColor Colour() => new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
            using var surface = SKSurface.Create(new SKImageInfo(width, height));
            surface.Canvas.Clear(Colour());
            using var paint = new SKPaint { IsAntialias = true };
            for (var shape = 0; shape < 12; shape++)
            {
                paint.Color = Colour();
                surface.Canvas.DrawCircle(random.Next(width), random.Next(height), random.Next(4, Math.Max(5, width / 3)), paint);
            }
            using var image = surface.Snapshot();
            var jpeg = i % 2 == 1;
            using var encoded = image.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 90);
            yield return ($"generated-{i:D3}-{width}x{height}.{(jpeg ? "jpg" : "png")}", encoded.ToArray());
        }
    }

    /// <summary>Creates a collection, uploads the files and waits until preprocessing has finished every one.</summary>
    private static async Task<Guid> IngestAsync(HttpClient api, string name, IReadOnlyList<(string FileName, byte[] Bytes)> files)
    {
        using var created = await api.PostAsJsonAsync("/collections", new { name = $"{name}-{Guid.NewGuid():N}" });
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using var form = new MultipartFormDataContent();
        foreach (var (fileName, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", fileName);
        }
        using var uploaded = await api.PostAsync($"/collections/{id}/images", form);
        uploaded.EnsureSuccessStatusCode();
        while ((await api.GetFromJsonAsync<JsonElement>($"/collections/{id}/images?status=pending&limit=1")).GetProperty("items").GetArrayLength() > 0)
            await Task.Delay(200);
        return id;
    }

    /// <summary>
    /// The pairs grouped as the batch consumer takes them: the images of <see cref="InferenceOptions.BatchMessageLimit"/>
    /// commands of <see cref="InferenceOptions.ImagesPerBatch"/> images, each image with every question.
    /// </summary>
    private static List<VqaQuery[]> ConsumeGroups(InferenceOptions options, IReadOnlyList<RgbImage> images) =>
        images.Chunk(Math.Max(1, options.ImagesPerBatch) * Math.Max(1, options.BatchMessageLimit))
            .Select(group => group.SelectMany(image => Questions.Select(question => new VqaQuery(image, question))).ToArray())
            .ToList();

    private static double TimeEngine(VqaEngine engine, IReadOnlyList<VqaQuery[]> groups)
    {
        var watch = Stopwatch.StartNew();
        foreach (var group in groups)
            engine.Ask(group, TopK);
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>POST /jobs, then GET /jobs/{id} every 50 ms until it is completed: the time a client sees.</summary>
    private static async Task<TimeSpan> RunJobAsync(HttpClient api, Guid collection, string model, Action<Guid>? submitted = null)
    {
        var watch = Stopwatch.StartNew();
        using var response = await api.PostAsJsonAsync("/jobs", new { collectionId = collection, questions = Questions, model, topK = TopK });
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"POST /jobs: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        submitted?.Invoke(id);
        while (true)
        {
            var job = await api.GetFromJsonAsync<JsonElement>($"/jobs/{id}");
            switch (job.GetProperty("status").GetString())
            {
                case "completed":
                    return watch.Elapsed;
                case "failed" or "cancelled":
                    throw new InvalidOperationException($"job {id}: {job}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Where the job's time went, from the database's timestamps (each batch stamps its images when it commits).</summary>
    private static async Task PrintTimelineAsync(InferenceDbContext db, Guid jobId, double clientSeconds)
    {
        var job = await db.QuestionJobs.AsNoTracking().SingleAsync(j => j.Id == jobId);
        var batches = await db.JobImages.AsNoTracking().Where(i => i.JobId == jobId)
            .GroupBy(i => i.UpdatedAt).Select(g => new { At = g.Key, Images = g.Count() }).OrderBy(b => b.At).ToListAsync();
        double Since(DateTimeOffset at) => (at - job.CreatedAt).TotalSeconds;
        Console.WriteLine($"  last job's timeline (s after POST /jobs stored it): started {Since(job.StartedAt!.Value):F2}; batches committed " +
                          string.Join(", ", batches.Select(b => $"{Since(b.At):F2} ({b.Images} images)")) +
                          $"; completed {Since(job.FinishedAt!.Value):F2}; seen completed by the client {clientSeconds:F2}");
    }

    private static string LoadAverage() => ScaleBench.LoadAverage();
}
