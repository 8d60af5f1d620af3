using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using VqaPipeline.Inference.Tests.Support;
using VqaPipeline.Ingestion.Data;
using Xunit.Abstractions;

namespace VqaPipeline.Inference.Tests;

/// <summary>
/// The database and then object storage go away for a minute each in the middle of a job, on servers of the test's own
/// (<see cref="OutagePipeline"/>): the work waits in the broker and finishes by itself once they are back.
/// </summary>
public sealed class OutageTests(ITestOutputHelper output)
{
    private const int Images = 40, TopK = 2;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);

    [StackFact]
    public async Task A_job_meeting_a_minute_without_PostgreSQL_then_a_minute_without_S3_completes_with_every_answer_once_and_no_error_queue()
    {
        var pipeline = new OutagePipeline();
        await pipeline.InitializeAsync();
        try
        {
            var collectionId = await pipeline.NewCollectionAsync("outage");
            var images = await pipeline.IngestAsync(collectionId,
                Enumerable.Range(0, Images).Select(i => ($"outage-{i}.png", TestData.NoisePng(seed: 9100 + i))));
            Assert.All(images, image => Assert.Equal(ImageStatus.Ready, image.Status));
            var imageIds = images.Select(image => image.Id).ToList();
            var questions = TestData.Questions(2);

            var jobId = await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, TopK);
            var started = await pipeline.WaitForJobAsync(jobId, job => job.Done > 0 || job.Status is not ("pending" or "running"));
            var clock = Stopwatch.StartNew();
            await pipeline.Postgres.StopAsync();
            output.WriteLine($"PostgreSQL stopped with {started.Done} of {started.Total} images answered");
            Assert.Equal("running", started.Status); // else the outage met nothing: the job must still have work in flight
            await Task.Delay(Outage);
            await pipeline.Postgres.StartAsync();
            // The work that met the database's absence is waiting in delay queues; it comes back to a store that is away.
            await pipeline.S3.StopAsync();
            output.WriteLine($"PostgreSQL back after {clock.Elapsed.TotalSeconds:0} s; S3 stopped");
            await Task.Delay(Outage);
            await pipeline.S3.StartAsync();
            output.WriteLine($"S3 back after {clock.Elapsed.TotalSeconds:0} s");

            var job = await WaitForJobThroughUnavailableAsync(pipeline, jobId);
            // The services have met their dead pooled connections by now; the test's own (the owner's login, one pool per
            // schema) died with the server too and are not what this test is about.
            NpgsqlConnection.ClearAllPools();
            output.WriteLine($"job {job.Status} {clock.Elapsed.TotalSeconds:0} s after the first outage began");

            Assert.Equal(("completed", Images, Images, 0), (job.Status, job.Total, job.Done, job.Failed));
            await using (var inference = pipeline.NewContext())
                await TestData.AssertOneAnswerSetAsync(inference, jobId, imageIds, questions.Count, TopK);
            await AssertIndexedOnceAsync(pipeline, jobId, imageIds, questions.Count);
            await AssertNothingParkedAsync(pipeline);
            var errors = (await pipeline.QueueDepthsAsync()).Where(queue => queue.Key.EndsWith("_error")).ToList();
            Assert.True(errors.All(queue => queue.Value == 0),
                $"messages in error queues: {string.Join(", ", errors.Where(q => q.Value > 0).Select(q => $"{q.Key}={q.Value}"))}");
        }
        finally
        {
            await pipeline.DisposeAsync();
        }
    }

    /// <summary>
    /// Polls the job until it ends. Each service's pooled connections died with the server, and each fails one request
    /// when next used: the API answers those 503 with Retry-After (a client comes back), never 500.
    /// </summary>
    private async Task<JobResponse> WaitForJobThroughUnavailableAsync(OutagePipeline pipeline, Guid jobId)
    {
        var unavailable = 0;
        var job = await Poll.UntilAsync(async () =>
        {
            using var response = await pipeline.Api.GetAsync($"/jobs/{jobId}");
            if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable)
            {
                Assert.NotNull(response.Headers.RetryAfter);
                unavailable++;
                return null;
            }
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            return await response.Content.ReadFromJsonAsync<JobResponse>();
        }, job => job is { Status: "completed" or "failed" or "cancelled" }, Pipeline.Patience,
            job => $"job {jobId} still {job?.Status ?? "unavailable"} ({job?.Done}+{job?.Failed} of {job?.Total})");
        output.WriteLine($"{unavailable} answers 503 while the services' pools renewed their connections");
        return job!;
    }

    /// <summary>Indexing holds each (image, question, rank) of the job once: no redelivered batch was indexed twice.</summary>
    private static async Task AssertIndexedOnceAsync(OutagePipeline pipeline, Guid jobId, IReadOnlyCollection<Guid> imageIds, int questions)
    {
        // AnswersProduced reach indexing after the job's end; wait until every image's answers are in.
        var indexed = await Poll.UntilAsync(async () =>
        {
            await using var indexing = pipeline.Indexing();
            return await indexing.IndexedAnswers.AsNoTracking().Where(a => a.JobId == jobId)
                .Select(a => new { a.ImageId, a.Question, a.Rank }).ToListAsync();
        }, rows => rows.Select(r => r.ImageId).Distinct().Count() == imageIds.Count, Pipeline.Patience,
            rows => $"{rows.Select(r => r.ImageId).Distinct().Count()} of {imageIds.Count} images indexed");
        Assert.Equal(imageIds.Count * questions * TopK, indexed.Count);
        Assert.Equal(indexed.Count, indexed.Distinct().Count());
    }

    /// <summary>No service gave up on a message: every fault was waited out.</summary>
    private static async Task AssertNothingParkedAsync(OutagePipeline pipeline)
    {
        await using var ingestion = pipeline.Ingestion();
        await using var preprocessing = pipeline.Preprocessing();
        await using var inference = pipeline.NewContext();
        await using var indexing = pipeline.Indexing();
        var parked = new Dictionary<string, List<string>>
        {
            ["ingestion"] = await ingestion.EventLog.Where(e => e.ParkedAt != null).Select(e => e.MessageType + ": " + e.LastError).ToListAsync(),
            ["preprocessing"] = await preprocessing.EventLog.Where(e => e.ParkedAt != null).Select(e => e.MessageType + ": " + e.LastError).ToListAsync(),
            ["inference"] = await inference.EventLog.Where(e => e.ParkedAt != null).Select(e => e.MessageType + ": " + e.LastError).ToListAsync(),
            ["indexing"] = await indexing.EventLog.Where(e => e.ParkedAt != null).Select(e => e.MessageType + ": " + e.LastError).ToListAsync(),
        };
        Assert.True(parked.Values.All(list => list.Count == 0),
            string.Join("; ", parked.Where(p => p.Value.Count > 0).Select(p => $"{p.Key} parked {string.Join(" | ", p.Value)}")));
    }
}
