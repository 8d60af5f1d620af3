using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Inference.Data;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Ml.Models;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Storage;

namespace VqaPipeline.Benchmarks;

/// <summary>
/// <c>VqaPipeline.Benchmarks scale IMAGES_FOLDER REPORT_FOLDER</c> (run by <c>infra/bench/scale.sh N</c>): the images
/// of a folder put straight into the system's bucket, imported into a new collection (<c>POST /collections/{id}/imports</c>),
/// preprocessed, answered by one question job with the bundled model, indexed and searched, through running services.
/// Samples every queue's depth and every stage's progress once a second (<c>timeline.csv</c>, <c>timeline.png</c>),
/// reports each stage's images per second, the end-to-end time and the services' resident memory
/// (<c>report.md</c>), and checks that every image has exactly one final state and every answer exists once.
/// Exits 1 when a check fails.
/// </summary>
internal static class ScaleBench
{
    private const string Model = "vilt-shapes";
    private static readonly string[] Questions = ["Is there a red circle?", "How many shapes are there?", "What color is the square?"];
    private const int TopK = 3;

    /// <summary>The queues the services declare (their default names), in pipeline order.</summary>
    private static readonly string[] Queues =
    [
        "preprocessing-image-ingested", "ingestion-image-outcomes", "inference-image-outcomes", "inference-question-jobs",
        "inference-image-batches", "indexing-answers-produced", "indexing-jobs-ended",
    ];

    private static readonly string[] ServiceNames = ["Gateway", "Ingestion", "Preprocessing", "Inference", "Training", "Indexing"];

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 2 || !Directory.Exists(args[0]))
        {
            Console.Error.WriteLine("usage: VqaPipeline.Benchmarks scale IMAGES_FOLDER REPORT_FOLDER");
            return 2;
        }
        var files = Directory.GetFiles(args[0]).Where(IsImageFile).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            Console.Error.WriteLine($"error: no images in {args[0]}");
            return 2;
        }
        var reportFolder = Directory.CreateDirectory(args[1]).FullName;
        var server = Environment.GetEnvironmentVariable("VQA_POSTGRES")
                     ?? throw new InvalidOperationException("VQA_POSTGRES is not set: eval \"$(infra/local/up.sh)\" first");
        var brokerUrl = Environment.GetEnvironmentVariable("VQA_RABBITMQ_URL") ?? "amqp://guest:guest@127.0.0.1:5672/";
        using var api = new HttpClient
        {
            BaseAddress = new Uri(Environment.GetEnvironmentVariable("VQA_API_URL") ?? "http://127.0.0.1:5080"),
            Timeout = TimeSpan.FromMinutes(5),
        };
        api.DefaultRequestHeaders.Authorization = new("Bearer", Environment.GetEnvironmentVariable("VQA_API_KEY")
                                                               ?? throw new InvalidOperationException("VQA_API_KEY is not set: eval \"$(infra/local/up.sh)\" first"));
        var storeOptions = ObjectStoreOptions.FromEnvironment();
        var report = new ScaleReport(files.Count, LoadAverage());
        var clock = Stopwatch.StartNew();

        // 1. The images go straight into the bucket, as a catalog's images already sit in one.
        var prefix = $"scale-imports/{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..48] + "/";
        var distinctContents = await PutAllAsync(storeOptions, files, prefix);
        report.Stage("put into the bucket", files.Count, clock.Elapsed.TotalSeconds);
        Console.WriteLine($"{files.Count} images ({distinctContents} distinct contents) put under {storeOptions.Bucket}/{prefix} " +
                          $"in {clock.Elapsed.TotalSeconds:F1} s");

        var collection = await CreateCollectionAsync(api, $"scale-{files.Count}-{Guid.NewGuid():N}");
        await using var sampler = new PipelineSampler(server, brokerUrl, Queues, collection, clock);
        sampler.Start();

        // 2. Import: registered images, then their preprocessing outcomes.
        var importStart = clock.Elapsed.TotalSeconds;
        var import = await StartImportAsync(api, collection, storeOptions.Bucket, prefix);
        var imported = await WaitForImportAsync(api, collection, import);
        var importEnd = clock.Elapsed.TotalSeconds;
        report.Stage("import (listed, registered)", distinctContents, importEnd - importStart);
        Console.WriteLine($"import {import}: {imported} after {importEnd - importStart:F1} s");
        await sampler.WaitUntilAsync(s => s.ImagesFinal >= distinctContents && s.ImagesRegistered >= distinctContents, TimeSpan.FromHours(6));
        var preprocessingEnd = clock.Elapsed.TotalSeconds;
        report.Stage("preprocessing (ready or rejected)", distinctContents, preprocessingEnd - importStart);

        // 3. One question job over every image with the bundled model.
        var jobStart = clock.Elapsed.TotalSeconds;
        var job = await SubmitJobAsync(api, collection);
        sampler.FollowJob(job);
        var finished = await WaitForJobAsync(api, job);
        var jobEnd = clock.Elapsed.TotalSeconds;
        var answeredImages = finished.GetProperty("done").GetInt32();
        report.Stage($"inference ({Questions.Length} questions, top {TopK})", answeredImages, jobEnd - jobStart);

        // 4. Indexing: a search of the job's question answers 200 once every answered image is in the index.
        var ranking = await SearchUntilRankedAsync(api, collection, Questions[0], "yes");
        var indexEnd = clock.Elapsed.TotalSeconds;
        report.Stage("indexing (until the search ranks)", answeredImages, indexEnd - jobStart);
        report.EndToEnd = indexEnd;
        report.SearchHits = ranking;
        await sampler.StopAsync();

        report.ResidentMemory = ResidentMemoryOfServices();
        report.LoadAtEnd = LoadAverage();
        report.Checks.AddRange(await CheckAsync(server, collection, job, distinctContents, answeredImages));
        sampler.WriteCsv(Path.Combine(reportFolder, "timeline.csv"));
        TimelineChart.Draw(sampler.Samples, Queues, distinctContents, Path.Combine(reportFolder, "timeline.png"));
        var text = report.ToMarkdown(collection, job, import);
        await File.WriteAllTextAsync(Path.Combine(reportFolder, "report.md"), text);
        Console.WriteLine(text);
        Console.WriteLine($"report, timeline.csv and timeline.png in {reportFolder}");
        return report.Checks.All(c => c.Passed) ? 0 : 1;
    }

    private static bool IsImageFile(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png" or ".webp" or ".gif" or ".bmp";

    /// <summary>Puts every file under <paramref name="prefix"/> by its own name, four at a time; returns the distinct contents.</summary>
    private static async Task<int> PutAllAsync(ObjectStoreOptions options, IReadOnlyList<string> files, string prefix)
    {
        using var store = new ObjectStore(options);
        await store.EnsureBucketAsync();
        var hashes = new HashSet<string>();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (path, cancellationToken) =>
        {
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
            lock (hashes) hashes.Add(Convert.ToHexString(SHA256.HashData(bytes)));
            using var content = new MemoryStream(bytes);
            await store.PutAtAsync(options.Bucket, prefix + Path.GetFileName(path), content, "application/octet-stream", cancellationToken);
        });
        return hashes.Count;
    }

    private static async Task<Guid> CreateCollectionAsync(HttpClient api, string name)
    {
        using var created = await api.PostAsJsonAsync("/collections", new { name });
        await EnsureAsync(created, "POST /collections");
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<Guid> StartImportAsync(HttpClient api, Guid collection, string bucket, string prefix)
    {
        using var response = await api.PostAsJsonAsync($"/collections/{collection}/imports", new { bucket, prefix });
        await EnsureAsync(response, "POST /collections/{id}/imports");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("importId").GetGuid();
    }

    /// <summary>Polls the import until it is over; returns its last progress document.</summary>
    private static async Task<string> WaitForImportAsync(HttpClient api, Guid collection, Guid import)
    {
        while (true)
        {
            var progress = await api.GetFromJsonAsync<JsonElement>($"/collections/{collection}/imports/{import}");
            switch (progress.GetProperty("state").GetString())
            {
                case "completed":
                    return $"listed {progress.GetProperty("listed")}, registered {progress.GetProperty("registered")}, " +
                           $"duplicates {progress.GetProperty("duplicates")}, skipped {progress.GetProperty("skipped")}";
                case "failed":
                    throw new InvalidOperationException($"import {import} failed: {progress}");
            }
            await Task.Delay(500);
        }
    }

    private static async Task<Guid> SubmitJobAsync(HttpClient api, Guid collection)
    {
        using var response = await api.PostAsJsonAsync("/jobs", new { collectionId = collection, questions = Questions, model = Model, topK = TopK });
        await EnsureAsync(response, "POST /jobs");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<JsonElement> WaitForJobAsync(HttpClient api, Guid job)
    {
        while (true)
        {
            var state = await api.GetFromJsonAsync<JsonElement>($"/jobs/{job}");
            switch (state.GetProperty("status").GetString())
            {
                case "completed":
                    return state;
                case "failed" or "cancelled":
                    throw new InvalidOperationException($"job {job}: {state}");
            }
            await Task.Delay(500);
        }
    }

    /// <summary>Searches until the answer is 200 (the whole ranking); returns how many images it ranked.</summary>
    private static async Task<int> SearchUntilRankedAsync(HttpClient api, Guid collection, string question, string answer)
    {
        var url = $"/search?collection={collection}&question={Uri.EscapeDataString(question)}&answer={answer}&limit=1000";
        while (true)
        {
            using var response = await api.GetAsync(url);
            if ((int)response.StatusCode == 200)
                return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").GetArrayLength();
            if ((int)response.StatusCode != 202)
                throw new InvalidOperationException($"GET /search: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(500);
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Nothing lost, nothing doubled: read from each owner's schema with the operator's login.</summary>
    private static async Task<List<ScaleCheck>> CheckAsync(string server, Guid collection, Guid job, int distinctContents, int answeredImages)
    {
        await using var ingestion = IngestionDbContext.Open(server);
        await using var inference = InferenceDbContext.Open(server);
        await using var indexing = IndexingDbContext.Open(server);
        var images = await ingestion.Images.AsNoTracking().Where(i => i.CollectionId == collection)
            .GroupBy(i => i.Status).Select(g => new { Status = g.Key, Count = g.Count() }).ToListAsync();
        var registered = images.Sum(g => g.Count);
        var pending = images.Where(g => g.Status == ImageStatus.Pending).Sum(g => g.Count);
        var ready = images.Where(g => g.Status == ImageStatus.Ready).Sum(g => g.Count);
        var sameContentTwice = await ingestion.Images.AsNoTracking().Where(i => i.CollectionId == collection)
            .GroupBy(i => i.Sha256).CountAsync(g => g.Count() > 1);
        var answers = await inference.JobAnswers.AsNoTracking().CountAsync(a => a.JobId == job);
        var distinctAnswers = await inference.JobAnswers.AsNoTracking().Where(a => a.JobId == job)
            .Select(a => new { a.ImageId, a.QuestionIndex, a.Rank }).Distinct().CountAsync();
        var imagesWithAllAnswers = await inference.JobAnswers.AsNoTracking().Where(a => a.JobId == job)
            .GroupBy(a => a.ImageId).CountAsync(g => g.Count() == Questions.Length * TopK);
        var indexed = await indexing.IndexedAnswers.AsNoTracking().CountAsync(a => a.JobId == job);
        var distinctIndexed = await indexing.IndexedAnswers.AsNoTracking().Where(a => a.JobId == job)
            .Select(a => new { a.ImageId, a.Question, a.Rank }).Distinct().CountAsync();
        return
        [
            new($"every distinct content is one image ({registered} of {distinctContents})", registered == distinctContents && sameContentTwice == 0),
            new($"every image has a final state ({pending} pending)", pending == 0),
            new($"the job answered every ready image ({answeredImages} of {ready})", answeredImages == ready),
            new($"every answer once ({answers} rows, {distinctAnswers} distinct, {imagesWithAllAnswers} images × {Questions.Length} questions × top {TopK})",
                answers == distinctAnswers && imagesWithAllAnswers == answeredImages && answers == answeredImages * Questions.Length * TopK),
            new($"every answer indexed once ({indexed} rows, {distinctIndexed} distinct)", indexed == answers && distinctIndexed == indexed),
        ];
    }

    /// <summary>The resident memory of each running service process (the local stack runs each as <c>VqaPipeline.X.dll</c>).</summary>
    private static Dictionary<string, long> ResidentMemoryOfServices()
    {
        var memory = new Dictionary<string, long>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(folder, "cmdline")).Replace('\0', ' ');
                var service = ServiceNames.FirstOrDefault(name => commandLine.Contains($"VqaPipeline.{name}.dll", StringComparison.Ordinal)
                                                                  || commandLine.Contains($"VqaPipeline.{name} ", StringComparison.Ordinal));
                if (service is null)
                    continue;
                var line = File.ReadLines(Path.Combine(folder, "status")).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                if (line is not null)
                    memory[service] = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return memory;
    }

    /// <summary>The 1, 5 and 15-minute load averages, printed beside every figure: the benchmarks want an idle machine.</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}

/// <summary>One check of the run: what was checked, with its numbers, and whether it held.</summary>
internal sealed record ScaleCheck(string What, bool Passed);

/// <summary>What a scale run measured, written as the markdown the docs quote.</summary>
internal sealed class ScaleReport(int images, string loadAtStart)
{
    private readonly List<(string Stage, int Images, double Seconds)> _stages = [];

    public double EndToEnd { get; set; }
    public int SearchHits { get; set; }
    public string LoadAtEnd { get; set; } = "";
    public Dictionary<string, long> ResidentMemory { get; set; } = [];
    public List<ScaleCheck> Checks { get; } = [];

    public void Stage(string stage, int count, double seconds) => _stages.Add((stage, count, seconds));

    public string ToMarkdown(Guid collection, Guid job, Guid import)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## Scale run: {images} images ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"CPU: {CpuCapabilities.Current.Describe()}, {Environment.ProcessorCount} cores; load average {loadAtStart} at start, {LoadAtEnd} at end.");
        text.AppendLine(CultureInfo.InvariantCulture, $"Collection {collection}, import {import}, job {job}.");
        text.AppendLine();
        text.AppendLine("| stage | images | seconds (from the stage's start) | images/s |");
        text.AppendLine("|---|---|---|---|");
        foreach (var (stage, count, seconds) in _stages)
            text.AppendLine(CultureInfo.InvariantCulture, $"| {stage} | {count} | {seconds:F1} | {count / Math.Max(seconds, 1e-9):F2} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| **end to end** (first put to the search's ranking) | {images} | {EndToEnd:F1} | {images / Math.Max(EndToEnd, 1e-9):F2} |");
        text.AppendLine();
        var memory = string.Join(", ", ResidentMemory.OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => $"{m.Key.ToLowerInvariant()} {m.Value} MB"));
        text.AppendLine(CultureInfo.InvariantCulture, $"The search ranked {SearchHits} images. Resident memory at the end: {memory}.");
        text.AppendLine();
        foreach (var check in Checks)
            text.AppendLine(CultureInfo.InvariantCulture, $"- [{(check.Passed ? "x" : " ")}] {check.What}");
        return text.ToString();
    }
}
