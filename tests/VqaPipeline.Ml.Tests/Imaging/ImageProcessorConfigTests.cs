using System.Text.Json;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Vilt;
using VqaPipeline.Ml.Models.Blip;

namespace VqaPipeline.Ml.Tests.Imaging;

public sealed class ImageProcessorConfigTests : IDisposable
{
    private static readonly JsonElement Manifest = Fixtures.Manifest("image-processing", "manifest.json");
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("vqa-preprocessor-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string WriteConfig(string json)
    {
        File.WriteAllText(Path.Combine(_folder.FullName, "preprocessor_config.json"), json);
        return _folder.FullName;
    }

    private static RgbImage FixtureImage() =>
        new ImageLoader().LoadFile(Fixtures.PathOf(Manifest.GetProperty("cases")[0].GetProperty("image").GetString()!.Split('/')));

    [Fact]
    public void Vilt_model_folder_gives_the_manifest_processor()
    {
        var fromFolder = ViltImageProcessor.FromPretrained(Fixtures.PathOf("vilt-tiny"));
        var fromManifest = ViltImageProcessor.FromConfig(
            Manifest.GetProperty("vilt_image_processor").Deserialize<ViltImageProcessorConfig>()!);
        var image = FixtureImage();
        Assert.Equal(fromManifest.Preprocess(image).PixelValues, fromFolder.Preprocess(image).PixelValues);
    }

    [Theory]
    [InlineData("blip-vqa-tiny")]
    [InlineData("blip2-opt-tiny")]
    public void Blip_model_folder_sets_the_output_size(string model)
    {
        var folder = Fixtures.PathOf(model);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "preprocessor_config.json")));
        var size = json.RootElement.GetProperty("size");

        var batch = BlipImageProcessor.FromPretrained(folder).Preprocess(FixtureImage());

        Assert.Equal((size.GetProperty("height").GetInt32(), size.GetProperty("width").GetInt32()), (batch.Height, batch.Width));
    }

    [Fact]
    public void Bare_number_size_means_shortest_edge_for_vilt_and_a_square_for_blip()
    {
        var folder = WriteConfig("""{"feature_extractor_type": "ViltFeatureExtractor", "size": 384, "size_divisor": 32}""");
        Assert.Equal(new ImageSize(384, 512), ViltImageProcessor.FromPretrained(folder).OutputSize(480, 640));

        var blip = BlipImageProcessor.FromPretrained(folder).Preprocess(FixtureImage());
        Assert.Equal((384, 384), (blip.Height, blip.Width));
    }

    [Fact]
    public void Absent_fields_take_transformers_defaults()
    {
        var folder = WriteConfig("{}");
        var vilt = ViltImageProcessor.FromPretrained(folder).Config;
        Assert.Equal((384, 32, 3, 1.0 / 255, true), (vilt.Size.ShortestEdge, vilt.SizeDivisor, vilt.Resample, vilt.RescaleFactor, vilt.DoPad));
        var blip = BlipImageProcessor.FromPretrained(folder).Config;
        Assert.Equal((384, 384), (blip.Size.Height, blip.Size.Width));
        Assert.Equal([0.48145466, 0.4578275, 0.40821073], blip.ImageMean);
    }

    [Fact]
    public void Missing_config_file_is_reported()
    {
        var error = Assert.Throws<VqaPipelineException>(() => ViltImageProcessor.FromPretrained(_folder.FullName));
        Assert.Contains("preprocessor_config.json", error.Message);
    }

    [Fact]
    public void Malformed_config_is_reported() =>
        Assert.Throws<VqaPipelineException>(() => ViltImageProcessor.FromPretrained(WriteConfig("{\"size\": ")));

    [Fact]
    public void Unsupported_resample_filter_is_reported()
    {
        var error = Assert.Throws<VqaPipelineException>(() => BlipImageProcessor.FromPretrained(WriteConfig("""{"resample": 2}""")));
        Assert.Contains("resample=2", error.Message);
    }

    [Fact]
    public void Without_padding_the_mask_is_absent_and_sizes_must_agree()
    {
        var processor = ViltImageProcessor.FromConfig(new ViltImageProcessorConfig { DoPad = false });
        var image = FixtureImage();
        Assert.Null(processor.Preprocess(image).PixelMask);

        var portrait = new RgbImage(image.Height, image.Width, image.Pixels);
        Assert.Throws<VqaPipelineException>(() => processor.Preprocess([image, portrait]));
    }

    [Fact]
    public void Empty_batch_is_rejected() =>
        Assert.Throws<ArgumentException>(() => ViltImageProcessor.FromConfig(new ViltImageProcessorConfig()).Preprocess([]));
}
