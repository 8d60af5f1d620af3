using System.Diagnostics;
using System.Text.Json;
using VqaPipeline.Ml.Imaging;
using Xunit.Abstractions;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Ml.Tests.Imaging;

/// <summary>
/// Measures file → pixel_values with the ViLT processor, sequentially and with two images at a time, and reports
/// images per second in the test output. Figures only: timing is not asserted.
/// </summary>
public class PreprocessingThroughput(ITestOutputHelper output)
{
    private const int Images = 60;

    [Fact]
    public void Vilt_preprocessing_of_a_jpeg_file()
    {
        var path = Fixtures.PathOf("images", "rocket.jpg");
        var loader = new ImageLoader();
        var processor = ViltImageProcessor.FromConfig(Fixtures.Manifest("image-processing", "manifest.json")
            .GetProperty("vilt_image_processor").Deserialize<ViltImageProcessorConfig>()!);
        void Preprocess() => Assert.Equal(3 * 384 * 576, processor.Preprocess(loader.LoadFile(path)).PixelValues.Length);

        for (var i = 0; i < 10; i++)
            Preprocess();

        var sequential = Stopwatch.StartNew();
        for (var i = 0; i < Images; i++)
            Preprocess();
        sequential.Stop();

        var parallel = Stopwatch.StartNew();
        Parallel.For(0, Images, new ParallelOptions { MaxDegreeOfParallelism = 2 }, _ => Preprocess());
        parallel.Stop();

        var image = loader.LoadFile(path);
        var decode = Time(() => loader.LoadFile(path));
        var resize = Time(() => PillowResampler.ResizeBicubic(image, 576, 384));
        var full = Time(() => processor.Preprocess(image));

        output.WriteLine($"rocket.jpg {image.Width}x{image.Height} -> 3x384x576, {Environment.ProcessorCount} cores");
        output.WriteLine($"sequential: {Images / sequential.Elapsed.TotalSeconds:F0} images/s");
        output.WriteLine($"parallel (2): {Images / parallel.Elapsed.TotalSeconds:F0} images/s");
        output.WriteLine($"per image: decode {decode:F2} ms, resize {resize:F2} ms, resize+normalize {full:F2} ms");
    }

    private static double Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 30; i++)
            action();
        return watch.Elapsed.TotalMilliseconds / 30;
    }
}
