using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Preprocessing.Tests.Support;

namespace VqaPipeline.Preprocessing.Tests;

[Collection(WorkerCollection.Name)]
public sealed class TeamTests(Worker worker)
{
    [StackFact]
    public async Task A_preprocessed_or_rejected_image_is_announced_with_the_team_it_was_ingested_for()
    {
        var teamId = Guid.NewGuid();
        var collectionId = Worker.NewCollection();
        var good = await worker.IngestAsync(collectionId, "good.jpg", await File.ReadAllBytesAsync(Fixtures.Jpeg())) with { TeamId = teamId };
        var bad = await worker.IngestAsync(collectionId, "bad.jpg", "not an image"u8.ToArray()) with { TeamId = teamId };

        await worker.PublishAsync(good, Guid.NewGuid());
        await worker.PublishAsync(bad, Guid.NewGuid());
        await worker.WaitForFinalAsync([good.ImageId, bad.ImageId]);

        await using var db = worker.NewContext();
        var preprocessed = await db.EventLog.SingleAsync(e => e.ImageId == good.ImageId && e.MessageType == nameof(ImagePreprocessed));
        var rejected = await db.EventLog.SingleAsync(e => e.ImageId == bad.ImageId && e.MessageType == nameof(ImageRejected));
        Assert.Equal(teamId, JsonSerializer.Deserialize<ImagePreprocessed>(preprocessed.Body, JsonSerializerOptions.Web)!.TeamId);
        Assert.Equal(teamId, JsonSerializer.Deserialize<ImageRejected>(rejected.Body, JsonSerializerOptions.Web)!.TeamId);
    }
}
