using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Preprocessing.Data;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Preprocessing.Tests.Support;
using Xunit.Abstractions;

namespace VqaPipeline.Preprocessing.Tests;

[Collection(WorkerCollection.Name)]
public sealed class PreprocessingTests(Worker worker, ITestOutputHelper output)
{
    private static readonly ImageLoader Loader = new();

    [StackFact]
    public async Task Every_fixture_image_becomes_ready_with_its_size_and_a_lossless_model_ready_copy()
    {
        var collectionId = Worker.NewCollection();
        var ingested = new List<(string Path, ImageIngested Message)>();
        foreach (var path in Fixtures.Images())
            ingested.Add((path, await worker.IngestAsync(collectionId, Path.GetFileName(path), await File.ReadAllBytesAsync(path))));

        foreach (var (_, message) in ingested)
            await worker.PublishAsync(message, Guid.NewGuid());
        var images = await worker.WaitForFinalAsync(ingested.Select(i => i.Message.ImageId).ToArray());

        foreach (var (path, message) in ingested)
        {
            var image = images[message.ImageId];
            var expected = Loader.LoadFile(path);
            Assert.True(image.Status == PreprocessingStatus.Ready, $"{path}: {image.Status} ({image.RejectionReason})");
            Assert.Equal((expected.Width, expected.Height), (image.Width, image.Height));
            Assert.Equal(Path.GetExtension(path) == ".jpg" ? "jpeg" : Path.GetExtension(path).TrimStart('.'), image.Format);
            Assert.StartsWith("preprocessed/", image.PreprocessedObjectKey);
            await using var stored = await worker.Store.GetAsync(image.PreprocessedObjectKey!);
            var preprocessed = Loader.LoadStream(stored);
            Assert.Equal((expected.Width, expected.Height), (preprocessed.Width, preprocessed.Height));
            Assert.Equal(expected.Pixels, preprocessed.Pixels);
            Assert.NotNull(await worker.Store.StatAsync(message.ObjectKey));
        }
    }

    [StackFact]
    public async Task An_unusable_file_is_rejected_with_its_reason_and_its_original_is_kept()
    {
        var collectionId = Worker.NewCollection();
        var jpeg = await File.ReadAllBytesAsync(Fixtures.Jpeg());
        var cases = new (string FileName, byte[] Bytes, ImageLoadFailure Reason)[]
        {
            ("notes.jpg", "this is text, not a JPEG\n"u8.ToArray(), ImageLoadFailure.NotAnImage),
            ("truncated.jpg", jpeg[..(jpeg.Length / 2)], ImageLoadFailure.Truncated),
            ("empty.png", [], ImageLoadFailure.Empty),
        };
        var ingested = new List<ImageIngested>();
        foreach (var (fileName, bytes, _) in cases)
            ingested.Add(await worker.IngestAsync(collectionId, fileName, bytes));

        foreach (var message in ingested)
            await worker.PublishAsync(message, Guid.NewGuid());
        var images = await worker.WaitForFinalAsync(ingested.Select(m => m.ImageId).ToArray());

        foreach (var ((fileName, _, reason), message) in cases.Zip(ingested))
        {
            var image = images[message.ImageId];
            Assert.Equal(PreprocessingStatus.Rejected, image.Status);
            Assert.StartsWith($"{reason}: Image '{fileName}': ", image.RejectionReason);
            Assert.Null(image.PreprocessedObjectKey);
            Assert.NotNull(await worker.Store.StatAsync(message.ObjectKey));
            await using var db = worker.NewContext();
            var published = await db.EventLog.SingleAsync(e => e.ImageId == image.Id && e.MessageType == nameof(ImageRejected));
            Assert.Contains(image.RejectionReason!.Split(':')[0], published.Body);
        }
    }

    [StackFact]
    public async Task The_same_message_delivered_twice_is_handled_once()
    {
        var collectionId = Worker.NewCollection();
        var message = await worker.IngestAsync(collectionId, "twice.png", SyntheticPng(1));
        var messageId = Guid.NewGuid();

        await worker.PublishAsync(message, messageId);
        await worker.PublishAsync(message, messageId);
        await worker.WaitForFinalAsync([message.ImageId]);
        await Task.Delay(TimeSpan.FromSeconds(2)); // time for the second copy to be handled (and change nothing)

        await using var db = worker.NewContext();
        Assert.Equal(1, await db.InboxMessages.CountAsync(m => m.MessageId == messageId));
        Assert.Equal(1, await db.EventLog.CountAsync(e => e.MessageId == messageId && e.MessageType == nameof(ImageIngested)));
        Assert.Equal(1, await db.EventLog.CountAsync(e => e.ImageId == message.ImageId && e.MessageType == nameof(ImagePreprocessed)));
    }

    [StackFact]
    public async Task A_new_message_about_an_image_already_ready_changes_nothing_and_publishes_nothing()
    {
        var collectionId = Worker.NewCollection();
        var message = await worker.IngestAsync(collectionId, "again.png", SyntheticPng(2));
        await worker.PublishAsync(message, Guid.NewGuid());
        var before = (await worker.WaitForFinalAsync([message.ImageId]))[message.ImageId];
        var second = Guid.NewGuid();

        await worker.PublishAsync(message, second);
        await WaitUntilAsync(async db => await db.InboxMessages.AnyAsync(m => m.MessageId == second));

        await using var check = worker.NewContext();
        var after = await check.Images.AsNoTracking().SingleAsync(i => i.Id == message.ImageId);
        Assert.Equal((before.Status, before.UpdatedAt, before.PreprocessedObjectKey), (after.Status, after.UpdatedAt, after.PreprocessedObjectKey));
        Assert.Equal(1, await check.EventLog.CountAsync(e => e.ImageId == message.ImageId && e.MessageType == nameof(ImagePreprocessed)));
        Assert.Equal(2, await check.EventLog.CountAsync(e => e.ImageId == message.ImageId && e.MessageType == nameof(ImageIngested)));
    }

    [StackFact]
    public async Task A_mixed_batch_all_reaches_a_final_state_and_the_event_log_holds_each_consumed_and_published_message()
    {
        var collectionId = Worker.NewCollection();
        var messages = new List<(ImageIngested Message, Guid MessageId, bool Usable)>();
        for (var i = 0; i < 20; i++)
        {
            var usable = i % 5 != 0;
            var bytes = usable ? SyntheticPng(100 + i) : [.. "corrupt "u8, (byte)i];
            messages.Add((await worker.IngestAsync(collectionId, $"batch-{i}.png", bytes), Guid.NewGuid(), usable));
        }

        foreach (var (message, messageId, _) in messages)
            await worker.PublishAsync(message, messageId);
        var images = await worker.WaitForFinalAsync(messages.Select(m => m.Message.ImageId).ToArray());

        await using var db = worker.NewContext();
        foreach (var (message, messageId, usable) in messages)
        {
            Assert.Equal(usable ? PreprocessingStatus.Ready : PreprocessingStatus.Rejected, images[message.ImageId].Status);
            var log = await db.EventLog.Where(e => e.ImageId == message.ImageId).OrderBy(e => e.Id).ToListAsync();
            Assert.Equal([nameof(ImageIngested), usable ? nameof(ImagePreprocessed) : nameof(ImageRejected)],
                log.Select(e => e.MessageType));
            Assert.Equal(messageId, log[0].MessageId);
            Assert.Contains(message.Sha256, log[0].Body);
            Assert.Equal(collectionId, log[1].CollectionId);
        }
    }

    [StackFact]
    public async Task Fifty_small_images_are_preprocessed_end_to_end_and_the_rate_is_reported()
    {
        const int count = 50;
        var collectionId = Worker.NewCollection();
        var messages = new List<ImageIngested>();
        for (var i = 0; i < count; i++)
            messages.Add(await worker.IngestAsync(collectionId, $"rate-{i}.png", SyntheticPng(1000 + i)));

        var stopwatch = Stopwatch.StartNew();
        foreach (var message in messages)
            await worker.PublishAsync(message, Guid.NewGuid());
        var images = await worker.WaitForFinalAsync(messages.Select(m => m.ImageId).ToArray());
        stopwatch.Stop();

        Assert.All(images.Values, image => Assert.Equal(PreprocessingStatus.Ready, image.Status));
        output.WriteLine($"{count} images (160x120 PNG) in {stopwatch.Elapsed.TotalSeconds:0.00} s: "
                         + $"{count / stopwatch.Elapsed.TotalSeconds:0.0} images/s end to end (publish to last row ready)");
    }

    /// <summary>A small PNG whose pixels (and so SHA-256) depend on <paramref name="seed"/>.</summary>
    private static byte[] SyntheticPng(int seed)
    {
        var pixels = new byte[160 * 120 * 3];
        new Random(seed).NextBytes(pixels);
        return ModelReadyImage.EncodePng(new RgbImage(160, 120, pixels));
    }

    private async Task WaitUntilAsync(Func<PreprocessingDbContext, Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using (var db = worker.NewContext())
                if (await condition(db))
                    return;
            if (deadline.Elapsed > Worker.Patience)
                throw new TimeoutException($"condition still false after {Worker.Patience}");
            await Task.Delay(50);
        }
    }
}
