using System.Diagnostics;
using VqaPipeline.Inference.Tests.Support;
using Xunit.Abstractions;

namespace VqaPipeline.Inference.Tests;

[Collection(ProcessCollection.Name)]
public sealed class WorkerProcessTests(ProcessPipeline pipeline, ITestOutputHelper output)
{
    [StackFact]
    public async Task A_worker_killed_mid_batch_and_restarted_completes_the_job_with_exactly_one_answer_set()
    {
        await pipeline.StopWorkersAsync();
        var collectionId = await pipeline.NewCollectionAsync("kill");
        var images = await pipeline.IngestAsync(collectionId, TestData.NoiseImages("kill", 120, seed: 2000));
        var questions = TestData.Questions(3);
        var worker = await pipeline.StartWorkerAsync();

        var jobId = await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, 3);
        var midway = await pipeline.WaitForJobAsync(jobId, job => job.Done > 0);
        worker.Kill();
        var atKill = await pipeline.GetJobAsync(jobId);
        await pipeline.StartWorkerAsync();
        var job = await pipeline.WaitForJobAsync(jobId);

        output.WriteLine($"killed at {atKill.Done} of {atKill.Total} images answered");
        Assert.True(atKill.Done < images.Count, $"the job had finished ({atKill.Done}) before the kill: nothing was interrupted");
        Assert.Equal(("completed", images.Count, 0), (job.Status, job.Done, job.Failed));
        await using var db = pipeline.NewContext();
        await TestData.AssertOneAnswerSetAsync(db, jobId, images.Select(i => i.Id).ToArray(), questions.Count, 3);
    }

    [StackFact]
    public async Task Two_thousand_pairs_lose_and_double_nothing_drain_the_queues_and_keep_worker_memory_flat()
    {
        await pipeline.StopWorkersAsync();
        var collectionId = await pipeline.NewCollectionAsync("load");
        var images = await pipeline.IngestAsync(collectionId, TestData.NoiseImages("load", 200, seed: 5000));
        var questions = TestData.Questions(10);
        var worker = await pipeline.StartWorkerAsync();

        var warmUp = await pipeline.WaitForJobAsync(await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, 3));
        var afterWarmUp = worker.ResidentMiB();
        var stopwatch = Stopwatch.StartNew();
        var jobId = await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, 3);
        var job = await pipeline.WaitForJobAsync(jobId);
        stopwatch.Stop();
        var afterLoad = worker.ResidentMiB();

        Assert.Equal(("completed", 200), (warmUp.Status, warmUp.Done));
        Assert.Equal(("completed", 200, 0), (job.Status, job.Done, job.Failed));
        await using var db = pipeline.NewContext();
        await TestData.AssertOneAnswerSetAsync(db, jobId, images.Select(i => i.Id).ToArray(), questions.Count, 3);
        var queues = pipeline.InferenceQueues.Values.Select(q => q!).ToArray();
        var depths = await TestData.QueueDepthsAsync(pipeline.BrokerUrl, [.. queues, .. queues.Select(q => q + "_error")]);
        Assert.All(depths, depth => Assert.True(depth.Value == 0, $"{depth.Key} holds {depth.Value} messages"));
        output.WriteLine($"{images.Count * questions.Count} pairs in {stopwatch.Elapsed.TotalSeconds:0.0} s "
                         + $"({images.Count * questions.Count / stopwatch.Elapsed.TotalSeconds:0} pairs/s); worker RSS "
                         + $"{afterWarmUp:0} MiB after a 2,000-pair warm-up job, {afterLoad:0} MiB after the second");
        Assert.True(afterLoad <= afterWarmUp * 1.15 + 50, $"worker RSS grew from {afterWarmUp:0} to {afterLoad:0} MiB over one job");
    }

    [StackFact]
    public async Task Two_workers_on_one_queue_share_a_job_and_double_no_answer()
    {
        await pipeline.StopWorkersAsync();
        var collectionId = await pipeline.NewCollectionAsync("scale");
        var images = await pipeline.IngestAsync(collectionId, TestData.NoiseImages("scale", 96, seed: 8000));
        var questions = TestData.Questions(3);
        var first = await pipeline.StartWorkerAsync();
        var second = await pipeline.StartWorkerAsync();

        var stopwatch = Stopwatch.StartNew();
        var jobId = await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, 3);
        var job = await pipeline.WaitForJobAsync(jobId);
        stopwatch.Stop();

        output.WriteLine($"{images.Count * questions.Count} pairs with two workers in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(("completed", images.Count), (job.Status, job.Done));
        await using var db = pipeline.NewContext();
        await TestData.AssertOneAnswerSetAsync(db, jobId, images.Select(i => i.Id).ToArray(), questions.Count, 3);
        var shares = new[] { first, second }.Select(w => TestData.AnsweredBy(w, jobId)).ToArray();
        output.WriteLine($"images answered by each worker: {shares[0]} and {shares[1]}");
        Assert.All(shares, share => Assert.True(share > 0, "one worker answered nothing: the queue was not shared"));
        Assert.Equal(images.Count, shares.Sum());
    }
}
