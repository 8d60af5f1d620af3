using System.Diagnostics;
using SkiaSharp;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Preprocessing.Data;
using VqaPipeline.Preprocessing.Tests.Support;
using Xunit.Abstractions;

namespace VqaPipeline.Preprocessing.Tests;

/// <summary>Runs alone, after the parallel tests, so that the process's memory is this test's.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HugeImagesMemoryCollection
{
    public const string Name = "huge images (memory measured, runs alone)";
}

[Collection(HugeImagesMemoryCollection.Name)]
public sealed class HugeImagesMemoryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Images = 16;
    private const int Side = 9459; // 9459² = 89,472,681 pixels: just under the largest size allowed (Pillow's limit)

    /// <summary>
    /// What the worker may add to the process while it preprocesses them: the default budget lets one such image in at
    /// a time (7 to 8 bytes a pixel, about 0.7 GB) plus garbage not yet collected; sixteen at once would need over 11 GB.
    /// </summary>
    private const long AllowedGrowthBytes = 4L << 30;

    private readonly Worker _worker = new();

    public Task InitializeAsync() => _worker.InitializeAsync();

    public Task DisposeAsync() => _worker.DisposeAsync();

    [StackFact]
    public async Task Sixteen_89_megapixel_PNGs_arriving_at_once_all_become_ready_within_the_memory_bound()
    {
        var collectionId = Worker.NewCollection();
        var messages = new List<ImageIngested>();
        for (var i = 0; i < Images; i++)
            messages.Add(await _worker.IngestAsync(collectionId, $"huge-{i}.png", SolidPng(i)));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var baseline = process.WorkingSet64;

        var peak = baseline;
        using var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stopSampling.IsCancellationRequested)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
                await Task.Delay(50);
            }
        });
        var stopwatch = Stopwatch.StartNew();
        foreach (var message in messages)
            await _worker.PublishAsync(message, Guid.NewGuid());
        var images = await Poll.UntilAsync(async () =>
            {
                await using var db = _worker.NewContext();
                return db.Images.Where(i => i.CollectionId == collectionId).ToList();
            },
            found => found.Count == Images, TimeSpan.FromMinutes(20), found => $"{found.Count} of {Images} images have an outcome",
            TimeSpan.FromMilliseconds(500));
        await stopSampling.CancelAsync();
        await sampler;

        output.WriteLine($"{Images} PNGs of {messages[0].SizeBytes:N0} bytes and {(long)Side * Side:N0} pixels each in " +
                         $"{stopwatch.Elapsed.TotalSeconds:F0} s; resident memory {baseline >> 20} MB before, peak {peak >> 20} MB; " +
                         $"at most {_worker.Budget.MostHolders} decoded at once");
        Assert.All(images, image => Assert.True(image.Status == PreprocessingStatus.Ready, $"{image.FileName}: {image.RejectionReason}"));
        Assert.Equal(1, _worker.Budget.MostHolders);
        Assert.True(peak - baseline < AllowedGrowthBytes,
            $"resident memory grew by {(peak - baseline) >> 20} MB, over {AllowedGrowthBytes >> 20} MB");
    }

    /// <summary>One colour: about 0.4 MB of PNG that decodes to 89 megapixels.</summary>
    private static byte[] SolidPng(int shade)
    {
        using var surface = SKSurface.Create(new SKImageInfo(Side, Side));
        surface.Canvas.Clear(new SKColor((byte)(10 * shade), 90, 200));
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
