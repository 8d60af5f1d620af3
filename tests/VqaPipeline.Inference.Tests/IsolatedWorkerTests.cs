using VqaPipeline.Inference.Tests.Support;
using Xunit.Abstractions;

namespace VqaPipeline.Inference.Tests;

[Collection(IsolatedWorkerCollection.Name)]
public sealed class IsolatedWorkerTests(IsolatedWorkerPipeline pipeline, ITestOutputHelper output)
{
    [IsolatedHostFact]
    public async Task A_worker_host_cut_off_the_network_mid_job_leaves_the_job_complete_with_every_answer_once()
    {
        var collectionId = await pipeline.NewCollectionAsync("cut");
        var images = await pipeline.IngestAsync(collectionId, TestData.NoiseImages("cut", 240, seed: 9100));
        var questions = TestData.Questions(3);
        var (cutOffHost, survivorHost) = (pipeline.Hosts[0], pipeline.Hosts[1]);
        var cutOff = await pipeline.StartWorkerAsync(cutOffHost);
        var survivor = await pipeline.StartWorkerAsync(survivorHost);

        var jobId = await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, 3);
        await Poll.UntilAsync(() => Task.FromResult(TestData.AnsweredBy(cutOff, jobId)), answered => answered > 0,
            Pipeline.Patience, _ => $"the worker on {cutOffHost.Address} answered nothing of job {jobId}", TimeSpan.FromMilliseconds(20));
        await cutOffHost.CutAsync();
        var atCut = await pipeline.GetJobAsync(jobId);
        var answeredBeforeCut = TestData.AnsweredBy(cutOff, jobId);
        var job = await pipeline.WaitForJobAsync(jobId);

        output.WriteLine($"cut off {cutOffHost.Address} at {atCut.Done} of {atCut.Total} images answered; it had answered "
                         + $"{answeredBeforeCut}, the worker on {survivorHost.Address} answered {TestData.AnsweredBy(survivor, jobId)}");
        Assert.True(atCut.Done < images.Count, $"the job had finished ({atCut.Done}) before the cut: nothing was interrupted");
        Assert.False(cutOff.HasExited, "the cut-off worker exited: it was to lose its network, not its process");
        Assert.Equal(("completed", images.Count, 0), (job.Status, job.Done, job.Failed));
        await using var db = pipeline.NewContext();
        await TestData.AssertOneAnswerSetAsync(db, jobId, images.Select(i => i.Id).ToArray(), questions.Count, 3);
        Assert.True(TestData.AnsweredBy(survivor, jobId) > 0, "the surviving worker answered nothing");
    }
}
