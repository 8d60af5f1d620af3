using Microsoft.EntityFrameworkCore;
using VqaPipeline.Inference.Tests.Support;
using VqaPipeline.Messaging;
using VqaPipeline.Messaging.Redelivery;

namespace VqaPipeline.Inference.Tests;

/// <summary>Batches that meet an outage, a fault past the delivery limit, or a lost command: no job runs for ever.</summary>
[Collection(FaultyCollection.Name)]
public sealed class StuckWorkTests(FaultyPipeline pipeline)
{
    private const int TopK = 3;

    [StackFact]
    public async Task A_batch_failing_transiently_past_its_immediate_retries_comes_back_after_the_delay_and_the_job_completes()
    {
        var (collectionId, images) = await CollectionAsync("outage", 1);
        var questions = TestData.Questions(2);
        // The first delivery (an attempt and its retry) meets the outage; the second finds the database back.
        pipeline.Faults.FailNext(2);
        try
        {
            var jobId = await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, TopK);
            var job = await pipeline.WaitForJobAsync(jobId);

            Assert.Equal(("completed", 1, 0), (job.Status, job.Done, job.Failed));
            Assert.True(pipeline.Faults.Failed >= 2, $"{pipeline.Faults.Failed} attempts failed");
            await using var db = pipeline.NewContext();
            await TestData.AssertOneAnswerSetAsync(db, jobId, images, questions.Count, TopK);
            Assert.Equal(0u, (await ErrorQueueDepthsAsync()).Values.Sum(depth => depth));
        }
        finally
        {
            pipeline.Faults.Reset();
        }
    }

    [StackFact]
    public async Task A_batch_failing_past_the_delivery_limit_is_parked_with_its_reason_and_its_job_fails_with_it()
    {
        var (collectionId, _) = await CollectionAsync("down", 1);
        pipeline.Faults.FailNext(int.MaxValue);
        try
        {
            var jobId = await pipeline.SubmitAsync(collectionId, TestData.Questions(1), TestData.TinyModel, TopK);
            var job = await pipeline.WaitForJobAsync(jobId);

            Assert.Equal("failed", job.Status);
            Assert.Contains($"gave up after {FaultyPipeline.DeliveryLimit} deliveries", job.FailureReason);
            Assert.Contains(nameof(System.Net.Sockets.SocketException), job.FailureReason);
            await using var db = pipeline.NewContext();
            var parked = await db.EventLog.AsNoTracking()
                // The sweeper may have sent the stuck batch again while it waited in the delay queues: one is parked.
                .Where(e => e.JobId == jobId && e.MessageType == "ImageBatchRequested" && e.Direction == MessageDirection.Consumed && e.ParkedAt != null)
                .SingleAsync();
            Assert.NotNull(parked.ParkedAt);
            Assert.Contains($"gave up after {FaultyPipeline.DeliveryLimit} deliveries", parked.LastError);
            Assert.Equal(0u, (await ErrorQueueDepthsAsync()).Values.Sum(depth => depth));
        }
        finally
        {
            pipeline.Faults.Reset();
        }
    }

    [StackFact]
    public async Task The_sweeper_sends_a_lost_batch_again_once_and_the_job_completes_with_every_answer_once()
    {
        var (collectionId, images) = await CollectionAsync("lost", 2);
        var questions = TestData.Questions(2);
        pipeline.Faults.LoseNext(1);
        try
        {
            var jobId = await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, TopK);
            var job = await pipeline.WaitForJobAsync(jobId);

            Assert.Equal(("completed", images.Count, 0), (job.Status, job.Done, job.Failed));
            Assert.Equal(1, pipeline.Faults.Lost);
            await using var db = pipeline.NewContext();
            await TestData.AssertOneAnswerSetAsync(db, jobId, images, questions.Count, TopK);
            var commands = await db.EventLog.AsNoTracking()
                .Where(e => e.JobId == jobId && e.MessageType == "ImageBatchRequested" && e.Direction == MessageDirection.Published)
                .CountAsync();
            Assert.Equal(2, commands); // the first, lost, and the sweeper's, once
            Assert.True(job.FinishedAt - job.StartedAt >= FaultyPipeline.StuckImageDeadline,
                $"the job took {job.FinishedAt - job.StartedAt}, less than the deadline");
        }
        finally
        {
            pipeline.Faults.Reset();
        }
    }

    private async Task<(Guid CollectionId, IReadOnlyList<Guid> Images)> CollectionAsync(string prefix, int count)
    {
        var collectionId = await pipeline.NewCollectionAsync(prefix);
        var images = await pipeline.IngestAsync(collectionId,
            Fixtures.Images().Take(count).Select(path => (Path.GetFileName(path), File.ReadAllBytes(path))));
        return (collectionId, images.Select(image => image.Id).ToList());
    }

    private Task<IReadOnlyDictionary<string, uint>> ErrorQueueDepthsAsync() =>
        TestData.QueueDepthsAsync(pipeline.BrokerUrl, pipeline.InferenceQueues.Values.Select(queue => $"{queue}_error"));
}
