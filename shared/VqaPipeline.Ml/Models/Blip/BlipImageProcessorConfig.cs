using System.Text.Json.Serialization;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Models.Blip;

/// <summary><c>preprocessor_config.json</c> of a BLIP / BLIP-2 model; absent fields take transformers' defaults.</summary>
public sealed record BlipImageProcessorConfig
{
    [JsonPropertyName("do_resize")] public bool DoResize { get; init; } = true;
    [JsonPropertyName("size")] public ImageProcessorSize Size { get; init; } = new(Height: 384, Width: 384);
    /// <summary>PIL resampling filter; only 3 (BICUBIC) is implemented.</summary>
    [JsonPropertyName("resample")] public int Resample { get; init; } = 3;
    [JsonPropertyName("do_rescale")] public bool DoRescale { get; init; } = true;
    [JsonPropertyName("rescale_factor")] public double RescaleFactor { get; init; } = 1.0 / 255;
    [JsonPropertyName("do_normalize")] public bool DoNormalize { get; init; } = true;
    [JsonPropertyName("image_mean")] public double[] ImageMean { get; init; } = [0.48145466, 0.4578275, 0.40821073];
    [JsonPropertyName("image_std")] public double[] ImageStd { get; init; } = [0.26862954, 0.26130258, 0.27577711];
    /// <summary>Images reach the processor as <see cref="RgbImage"/>, so this has nothing left to do.</summary>
    [JsonPropertyName("do_convert_rgb")] public bool DoConvertRgb { get; init; } = true;
}
