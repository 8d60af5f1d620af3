using SkiaSharp;
using VqaPipeline.Preprocessing.Data;
using VqaPipeline.Preprocessing.Tests.Support;

namespace VqaPipeline.Preprocessing.Tests;

public sealed class PixelBudgetTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task Images_share_the_budget_until_it_is_full_and_the_next_waits_for_a_release()
    {
        var budget = new PixelBudget(10);
        using var first = await budget.AcquireAsync(4, CancellationToken.None);
        var second = await budget.AcquireAsync(6, CancellationToken.None);
        var third = budget.AcquireAsync(1, CancellationToken.None);

        await Task.Delay(Soon);
        Assert.False(third.IsCompleted);
        second.Dispose();
        (await third.WaitAsync(Soon * 10)).Dispose();
        Assert.Equal(10, budget.HighWater);
        Assert.Equal(2, budget.MostHolders);
    }

    [Fact]
    public async Task A_large_image_first_in_line_is_not_overtaken_by_small_ones()
    {
        var budget = new PixelBudget(10);
        var held = await budget.AcquireAsync(5, CancellationToken.None);
        var large = budget.AcquireAsync(8, CancellationToken.None);
        var small = budget.AcquireAsync(1, CancellationToken.None);

        await Task.Delay(Soon);
        Assert.False(small.IsCompleted, "a small image went ahead of the large one waiting before it");
        held.Dispose();
        using var largeLease = await large.WaitAsync(Soon * 10);
        using var smallLease = await small.WaitAsync(Soon * 10);
        Assert.Equal(9, budget.HighWater);
    }

    [Fact]
    public async Task An_image_larger_than_the_whole_budget_runs_alone()
    {
        var budget = new PixelBudget(10);
        var small = await budget.AcquireAsync(1, CancellationToken.None);
        var huge = budget.AcquireAsync(1_000, CancellationToken.None);

        await Task.Delay(Soon);
        Assert.False(huge.IsCompleted);
        small.Dispose();
        using var hugeLease = await huge.WaitAsync(Soon * 10);
        var next = budget.AcquireAsync(1, CancellationToken.None);
        await Task.Delay(Soon);
        Assert.False(next.IsCompleted);
        Assert.Equal(10, budget.HighWater);
    }

    [Fact]
    public async Task A_cancelled_wait_leaves_the_line_and_lets_the_next_in()
    {
        var budget = new PixelBudget(10);
        using var held = await budget.AcquireAsync(5, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var large = budget.AcquireAsync(8, cancel.Token);
        var small = budget.AcquireAsync(2, CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => large);
        using var smallLease = await small.WaitAsync(Soon * 10);
        Assert.Equal(7, budget.HighWater);
    }
}

/// <summary>The worker with a budget of two 2000x2000 images, fed many of them and one larger than the budget.</summary>
public sealed class PixelBudgetWorkerTests : IAsyncLifetime
{
    private const long Budget = 8_000_000;
    private readonly Worker _worker = new(new Dictionary<string, string?> { ["Preprocessing:PixelBudget"] = $"{Budget}" });

    public Task InitializeAsync() => _worker.InitializeAsync();

    public Task DisposeAsync() => _worker.DisposeAsync();

    [StackFact]
    public async Task Large_images_arriving_together_are_decoded_within_the_budget_and_all_become_ready()
    {
        var collectionId = Worker.NewCollection();
        var messages = new List<Contracts.V1.ImageIngested>();
        for (var i = 0; i < 10; i++)
            messages.Add(await _worker.IngestAsync(collectionId, $"large-{i}.png", SolidPng(2000, 2000, i)));
        messages.Add(await _worker.IngestAsync(collectionId, "larger-than-the-budget.png", SolidPng(3000, 3000, 99)));

        foreach (var message in messages)
            await _worker.PublishAsync(message, Guid.NewGuid());
        var images = await _worker.WaitForFinalAsync(messages.Select(m => m.ImageId).ToArray());

        Assert.All(images.Values, image => Assert.True(image.Status == PreprocessingStatus.Ready, $"{image.FileName}: {image.RejectionReason}"));
        Assert.Equal((3000, 3000), (images[messages[^1].ImageId].Width, images[messages[^1].ImageId].Height));
        Assert.InRange(_worker.Budget.HighWater, 4_000_000, Budget);
        Assert.InRange(_worker.Budget.MostHolders, 1, 2);
    }

    /// <summary>A PNG of one colour: a few kilobytes that decode to width × height pixels.</summary>
    private static byte[] SolidPng(int width, int height, int shade)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        surface.Canvas.Clear(new SKColor((byte)(20 * shade), 90, 200));
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
