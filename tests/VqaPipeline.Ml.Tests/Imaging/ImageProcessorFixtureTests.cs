using System.Runtime.InteropServices;
using VqaPipeline.Ml.Checkpoints;
using System.Security.Cryptography;
using System.Text.Json;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Models.Blip;

namespace VqaPipeline.Ml.Tests.Imaging;

/// <summary>
/// Every case of fixtures/image-processing/manifest.json: the image loaded like <c>load_image</c>, then the ViLT and
/// BLIP processors configured from the manifest, compared with transformers' tensors (or their sha256).
/// </summary>
public class ImageProcessorFixtureTests
{
    private const double Tolerance = 1e-6;
    private static readonly JsonElement Manifest = Fixtures.Manifest("image-processing", "manifest.json");
    private static readonly ImageLoader Loader = new();

    public static TheoryData<string> CaseImages()
    {
        var data = new TheoryData<string>();
        foreach (var entry in Manifest.GetProperty("cases").EnumerateArray())
            data.Add(entry.GetProperty("image").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseImages))]
    public void Loaded_image_has_the_source_size(string image)
    {
        var expected = Case(image).GetProperty("source_size_wh").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var loaded = Load(image);
        Assert.Equal(expected, new[] { loaded.Width, loaded.Height });
    }

    [Theory]
    [MemberData(nameof(CaseImages))]
    public void Vilt_matches_transformers(string image)
    {
        var expected = Case(image).GetProperty("vilt");
        var batch = ViltProcessor().Preprocess(Load(image));

        var shape = Shape(expected.GetProperty("shapes").GetProperty("pixel_values"));
        Assert.Equal(shape, new[] { batch.BatchSize, 3, batch.Height, batch.Width });
        var outputSize = expected.GetProperty("output_hw").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal(new ImageSize(outputSize[0], outputSize[1]), Assert.Single(batch.ImageSizes));

        var file = Fixtures.PathOf("image-processing", expected.GetProperty("file").GetString()!);
        AssertMaskEquals(StoredBytes(file, "pixel_mask"), batch.PixelMask);
        AssertClose(StoredFloats(file, "pixel_values"), batch.PixelValues);
        Assert.Equal(expected.GetProperty("pixel_values_sha256").GetString(), Sha256(batch.PixelValues));
    }

    [Theory]
    [MemberData(nameof(CaseImages))]
    public void Vilt_output_size_follows_the_shortest_edge_rule(string image)
    {
        var entry = Case(image);
        var source = entry.GetProperty("source_size_wh").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var output = entry.GetProperty("vilt").GetProperty("output_hw").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal(new ImageSize(output[0], output[1]), ViltProcessor().OutputSize(source[1], source[0]));
    }

    [Theory]
    [MemberData(nameof(CaseImages))]
    public void Blip_matches_transformers(string image)
    {
        var expected = Case(image).GetProperty("blip");
        var batch = BlipProcessor().Preprocess(Load(image));

        var shape = expected.TryGetProperty("shape", out var bare)
            ? bare.EnumerateArray().Select(v => v.GetInt32()).ToArray()
            : Shape(expected.GetProperty("shapes").GetProperty("pixel_values"));
        Assert.Equal(shape, new[] { batch.BatchSize, 3, batch.Height, batch.Width });
        Assert.Null(batch.PixelMask);

        if (expected.GetProperty("file").GetString() is { } file)
        {
            var path = Fixtures.PathOf("image-processing", file);
            AssertClose(StoredFloats(path, "pixel_values"), batch.PixelValues);
        }
        Assert.Equal(expected.GetProperty("pixel_values_sha256").GetString(), Sha256(batch.PixelValues));
    }

    [Fact]
    public void Vilt_batch_is_padded_bottom_right_with_a_mask()
    {
        var expected = Manifest.GetProperty("batch3");
        var images = expected.GetProperty("images").EnumerateArray().Select(path => Load(path.GetString()!)).ToArray();
        var batch = ViltProcessor().Preprocess(images);

        var padded = expected.GetProperty("padded_hw").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal(padded, new[] { batch.Height, batch.Width });
        var valid = expected.GetProperty("per_image_valid_hw").EnumerateArray()
            .Select(hw => new ImageSize(hw[0].GetInt32(), hw[1].GetInt32()));
        Assert.Equal(valid, batch.ImageSizes);

        var file = Fixtures.PathOf("image-processing", expected.GetProperty("file").GetString()!);
        AssertMaskEquals(StoredBytes(file, "pixel_mask"), batch.PixelMask);
        Assert.Equal(expected.GetProperty("pixel_values_sha256").GetString(), Sha256(batch.PixelValues));
    }

    [Fact]
    public void Batch_slots_equal_single_image_outputs()
    {
        var paths = Manifest.GetProperty("batch3").GetProperty("images").EnumerateArray().Select(p => p.GetString()!);
        var images = paths.Select(Load).ToArray();
        var processor = ViltProcessor();
        var batch = processor.Preprocess(images);
        for (var index = 0; index < images.Length; index++)
        {
            var single = processor.Preprocess(images[index]);
            for (var channel = 0; channel < 3; channel++)
            for (var y = 0; y < single.Height; y++)
            {
                var expected = single.PixelValues.AsSpan((channel * single.Height + y) * single.Width, single.Width);
                var actual = batch.PixelValues.AsSpan(((index * 3 + channel) * batch.Height + y) * batch.Width, single.Width);
                Assert.True(expected.SequenceEqual(actual), $"image {index} channel {channel} row {y} differs");
            }
        }
    }

    private static JsonElement Case(string image) =>
        Manifest.GetProperty("cases").EnumerateArray().Single(entry => entry.GetProperty("image").GetString() == image);

    private static RgbImage Load(string image) => Loader.LoadFile(Fixtures.PathOf(image.Split('/')));

    private static ViltImageProcessor ViltProcessor() => ViltImageProcessor.FromConfig(
        Manifest.GetProperty("vilt_image_processor").Deserialize<ViltImageProcessorConfig>()!);

    private static BlipImageProcessor BlipProcessor() => BlipImageProcessor.FromConfig(
        Manifest.GetProperty("blip_image_processor").Deserialize<BlipImageProcessorConfig>()!);

    private static int[] Shape(JsonElement tensor) =>
        tensor.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();

    private static float[] StoredFloats(string file, string name)
    {
        using var stored = Safetensors.Read(file);
        Assert.Equal(TensorDType.Float32, stored[name].DType);
        return MemoryMarshal.Cast<byte, float>(stored[name].Data.Span).ToArray();
    }

    private static byte[] StoredBytes(string file, string name)
    {
        using var stored = Safetensors.Read(file);
        Assert.Equal(TensorDType.UInt8, stored[name].DType);
        return stored[name].Data.ToArray();
    }

    private static void AssertMaskEquals(byte[] expected, long[]? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Select(v => (long)v).ToArray(), actual);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        var worstIndex = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            var difference = Math.Abs((double)expected[i] - actual[i]);
            if (difference > worst)
                (worst, worstIndex) = (difference, i);
        }
        Assert.True(worst <= Tolerance,
            $"max |difference| {worst} at flat index {worstIndex} (expected {expected[worstIndex]}, got {actual[worstIndex]})");
    }

    private static string Sha256(float[] values) =>
        Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));
}
