using VqaPipeline.Ml.Pipelines;
using System.Diagnostics;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Tests.Models;

namespace VqaPipeline.Ml.Tests.Pipelines;

/// <summary>
/// Resident memory is a property of the whole process, so other tests running beside this one (training runs, model
/// loads) would show up as growth here; this collection runs alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
    public const string Name = "process memory (runs alone)";
}

[Collection(ProcessMemoryCollection.Name)]
public sealed class PipelineMemoryTests
{
    [Fact]
    public void A_thousand_questions_do_not_grow_the_process()
    {
        using var pipeline = VqaEngine.FromPretrained(ViltFixture.ModelFolder);
        var testCase = ViltFixture.AllCases(ViltFixture.Manifest)
            .Select(c => (Image: Load(c.Images[0]), c.Questions))
            .MinBy(c => c.Image.Width * c.Image.Height);
        var questions = testCase.Questions;

        // Warm up until the allocator and LibTorch's caches hold what one question needs. Resident memory moves by
        // tens of MB either way from one sample to the next, so the baseline is the highest of the warm-up samples:
        // a leak raises every later sample above it, noise does not.
        var before = 0L;
        for (var round = 0; round < 4; round++)
        {
            for (var i = 0; i < 100; i++) pipeline.Ask(testCase.Image, questions[i % questions.Length]);
            before = Math.Max(before, SettledResidentBytes());
        }

        for (var i = 0; i < 1000; i++) pipeline.Ask(testCase.Image, questions[i % questions.Length]);
        var growth = SettledResidentBytes() - before;

        // A leaked input batch alone is ≥ 1 MB per question; 64 MB over 1,000 questions leaves room for allocator noise.
        Assert.True(growth < 64L << 20, $"resident memory grew by {growth >> 20} MB over 1,000 questions");
    }

    private static RgbImage Load(string relativePath) => new ImageLoader().LoadFile(Fixtures.PathOf(relativePath));

    private static long SettledResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }
}
