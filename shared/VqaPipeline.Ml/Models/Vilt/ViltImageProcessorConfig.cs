using System.Text.Json.Serialization;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary><c>preprocessor_config.json</c> of a ViLT model; absent fields take transformers' defaults.</summary>
public sealed record ViltImageProcessorConfig
{
    [JsonPropertyName("do_resize")] public bool DoResize { get; init; } = true;
    [JsonPropertyName("size")] public ImageProcessorSize Size { get; init; } = new(ShortestEdge: 384);
    [JsonPropertyName("size_divisor")] public int SizeDivisor { get; init; } = 32;
    /// <summary>PIL resampling filter; only 3 (BICUBIC) is implemented.</summary>
    [JsonPropertyName("resample")] public int Resample { get; init; } = 3;
    [JsonPropertyName("do_rescale")] public bool DoRescale { get; init; } = true;
    [JsonPropertyName("rescale_factor")] public double RescaleFactor { get; init; } = 1.0 / 255;
    [JsonPropertyName("do_normalize")] public bool DoNormalize { get; init; } = true;
    [JsonPropertyName("image_mean")] public double[] ImageMean { get; init; } = [0.5, 0.5, 0.5];
    [JsonPropertyName("image_std")] public double[] ImageStd { get; init; } = [0.5, 0.5, 0.5];
    [JsonPropertyName("do_pad")] public bool DoPad { get; init; } = true;
}
