using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using VqaPipeline.Inference.Data;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Ingestion.Data;

namespace VqaPipeline.Benchmarks;

/// <summary>The pipeline at one moment of a scale run: messages waiting per queue and how far each stage has got.</summary>
internal sealed record PipelineSample(
    double Seconds, IReadOnlyList<long> QueueDepths, int ImagesRegistered, int ImagesFinal, int ImagesAnswered, int AnswersIndexed);

/// <summary>
/// Samples the pipeline once a second while a scale run goes on: each queue's ready messages (a passive declare, so no
/// management plugin is needed) and each stage's progress, read from its owner's schema with the operator's login.
/// </summary>
internal sealed class PipelineSampler(string server, string brokerUrl, IReadOnlyList<string> queues, Guid collection, Stopwatch clock)
    : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly List<PipelineSample> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private Guid? _job;

    public IReadOnlyList<PipelineSample> Samples
    {
        get { lock (_samples) return _samples.ToList(); }
    }

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token));

    /// <summary>From now on the samples count this job's answered images and indexed answers.</summary>
    public void FollowJob(Guid job) => _job = job;

    public async Task WaitUntilAsync(Func<PipelineSample, bool> reached, TimeSpan timeout)
    {
        var deadline = clock.Elapsed + timeout;
        while (clock.Elapsed < deadline)
        {
            if (_loop is { IsFaulted: true })
                await _loop;
            PipelineSample? last;
            lock (_samples) last = _samples.Count > 0 ? _samples[^1] : null;
            if (last is not null && reached(last))
                return;
            await Task.Delay(Interval / 2);
        }
        throw new TimeoutException($"the pipeline did not get there in {timeout}");
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop;
    }

    public void WriteCsv(string path)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("seconds," + string.Join(",", queues) + ",images_registered,images_final,images_answered,answers_indexed");
        foreach (var sample in Samples)
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sample.Seconds:F1},{string.Join(",", sample.QueueDepths)},{sample.ImagesRegistered},{sample.ImagesFinal},{sample.ImagesAnswered},{sample.AnswersIndexed}"));
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = new Uri(brokerUrl), ClientProvidedName = "vqa-scale-bench" };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        await using var ingestion = IngestionDbContext.Open(server);
        await using var inference = InferenceDbContext.Open(server);
        await using var indexing = IndexingDbContext.Open(server);
        while (true)
        {
            var seconds = clock.Elapsed.TotalSeconds;
            var depths = new List<long>();
            foreach (var queue in queues)
                depths.Add(await DepthAsync(connection, queue, CancellationToken.None));
            var images = ingestion.Images.AsNoTracking().Where(i => i.CollectionId == collection);
            var registered = await images.CountAsync(CancellationToken.None);
            var final = await images.CountAsync(i => i.Status != ImageStatus.Pending, CancellationToken.None);
            int answered = 0, indexed = 0;
            if (_job is { } job)
            {
                answered = await inference.JobImages.AsNoTracking().CountAsync(i => i.JobId == job && i.State == JobImageState.Answered, CancellationToken.None);
                indexed = await indexing.IndexedAnswers.AsNoTracking().CountAsync(a => a.JobId == job, CancellationToken.None);
            }
            lock (_samples)
                _samples.Add(new PipelineSample(seconds, depths, registered, final, answered, indexed));
            if (cancellationToken.IsCancellationRequested)
                break;
            try
            {
                await Task.Delay(Interval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // One last sample: the state the run ended in.
            }
        }
    }

    /// <summary>Ready messages in a queue; 0 for a queue not declared yet (a passive declare of it closes its channel).</summary>
    private static async Task<long> DepthAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount;
        }
        catch (OperationInterruptedException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync();
        _stop.Dispose();
    }
}
