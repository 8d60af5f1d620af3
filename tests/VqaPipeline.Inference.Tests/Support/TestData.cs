using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RabbitMQ.Client;
using VqaPipeline.Inference.Data;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Preprocessing;
using Minio;
using Minio.DataModel.Args;

[assembly: CollectionBehavior(DisableTestParallelization = true)] // timings and worker memory are measured

namespace VqaPipeline.Inference.Tests.Support;

public static class TestData
{
    /// <summary>The tiny fixture model folder.</summary>
    public static string TinyModel => Fixtures.PathOf("vilt-tiny");

    /// <summary>Puts <see cref="TinyModel"/>'s files under <paramref name="prefix"/> in the test bucket, as a stored model.</summary>
    public static async Task StoreTinyModelAsync(string prefix)
    {
        var storage = VqaPipeline.Storage.ObjectStoreOptions.FromEnvironment();
        using var minio = new MinioClient().WithEndpoint(storage.Endpoint.Host, storage.Endpoint.Port)
            .WithCredentials(storage.AccessKey, storage.SecretKey).Build();
        foreach (var file in Directory.GetFiles(TinyModel))
        {
            await using var content = File.OpenRead(file);
            await minio.PutObjectAsync(new PutObjectArgs().WithBucket(storage.Bucket)
                .WithObject($"{prefix}/{Path.GetFileName(file)}").WithStreamData(content).WithObjectSize(content.Length)
                .WithContentType("application/octet-stream"));
        }
    }

    /// <summary>The example scenes the demo ingests (<c>examples/</c>), which the bundled model was trained to answer.</summary>
    public static string ExamplesFolder => Path.Combine(Fixtures.RepositoryRoot, "examples");

    /// <summary>The distinct questions of the tiny model's recorded cases, in manifest order.</summary>
    public static IReadOnlyList<string> FixtureQuestions() =>
        Fixtures.Manifest("vilt-tiny", "expected", "manifest.json").GetProperty("cases").EnumerateArray()
            .Select(c => c.GetProperty("question").GetString()!).Distinct().ToArray();

    /// <summary><paramref name="count"/> questions: the fixture ones, then numbered variants of them.</summary>
    public static IReadOnlyList<string> Questions(int count)
    {
        var fixture = FixtureQuestions();
        return Enumerable.Range(0, count)
            .Select(i => i < fixture.Count ? fixture[i] : $"{fixture[i % fixture.Count].TrimEnd('?')} number {i}?").ToArray();
    }

    /// <summary>A small noise PNG whose bytes (and so SHA-256) depend on <paramref name="seed"/>.</summary>
    public static byte[] NoisePng(int seed, int width = 64, int height = 48)
    {
        var pixels = new byte[width * height * 3];
        new Random(seed).NextBytes(pixels);
        return ModelReadyImage.EncodePng(new RgbImage(width, height, pixels));
    }

    public static IEnumerable<(string FileName, byte[] Bytes)> NoiseImages(string prefix, int count, int seed) =>
        Enumerable.Range(0, count).Select(i => ($"{prefix}-{i:D4}.png", NoisePng(seed + i)));

    /// <summary>Stored answers of a job, in export order.</summary>
    public static Task<List<JobAnswer>> AnswersAsync(InferenceDbContext db, Guid jobId) =>
        db.JobAnswers.AsNoTracking().Where(a => a.JobId == jobId)
            .OrderBy(a => a.ImageId).ThenBy(a => a.QuestionIndex).ThenBy(a => a.Rank).ToListAsync();

    /// <summary>Exactly one full answer set: topK answers for every (image, question), nothing else.</summary>
    public static async Task AssertOneAnswerSetAsync(InferenceDbContext db, Guid jobId, IReadOnlyCollection<Guid> imageIds, int questions, int topK)
    {
        var answers = await AnswersAsync(db, jobId);
        Assert.Equal(imageIds.Count * questions * topK, answers.Count);
        var perPair = answers.GroupBy(a => (a.ImageId, a.QuestionIndex)).ToList();
        Assert.Equal(imageIds.Count * questions, perPair.Count);
        Assert.All(perPair, pair => Assert.Equal(Enumerable.Range(1, topK), pair.Select(a => a.Rank)));
        Assert.Equal(imageIds.Order(), answers.Select(a => a.ImageId).Distinct().Order());
        var produced = await db.EventLog.AsNoTracking()
            .Where(e => e.JobId == jobId && e.MessageType == "AnswersProduced").Select(e => e.ImageId).ToListAsync();
        Assert.Equal(imageIds.Order(), produced.Select(id => id!.Value).Order());
    }

    /// <summary>Messages waiting in each queue of the broker (a queue that does not exist counts as empty).</summary>
    public static async Task<IReadOnlyDictionary<string, uint>> QueueDepthsAsync(string brokerUrl, IEnumerable<string> queues)
    {
        var factory = new ConnectionFactory { Uri = new Uri(brokerUrl) };
        await using var connection = await factory.CreateConnectionAsync();
        var depths = new Dictionary<string, uint>();
        foreach (var queue in queues)
        {
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                depths[queue] = (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                depths[queue] = 0;
            }
        }
        return depths;
    }

    /// <summary>Images a worker reports answering for the job (its log line per batch).</summary>
    public static int AnsweredBy(WorkerProcess worker, Guid jobId) =>
        worker.Output.Split('\n')
            .Where(line => line.Contains($"Job {jobId}:", StringComparison.Ordinal) && line.Contains("questions answered", StringComparison.Ordinal))
            .Sum(line => int.Parse(line[(line.IndexOf($"Job {jobId}: ", StringComparison.Ordinal) + $"Job {jobId}: ".Length)..].Split(' ')[0]));

    public static JsonElement ParseLine(string line) => JsonDocument.Parse(line).RootElement.Clone();
}
