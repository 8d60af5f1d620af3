using System.Text.Json;

namespace VqaPipeline.Ml.Imaging;

/// <summary>Reads and checks <c>preprocessor_config.json</c>; problems are one-line <see cref="VqaPipelineException"/>s.</summary>
internal static class PreprocessorConfigFile
{
    public const string FileName = "preprocessor_config.json";

    public static T Read<T>(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            throw new VqaPipelineException($"'{folder}' has no {FileName}; point to a model folder that holds one.");
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<T>(stream)
                   ?? throw new VqaPipelineException($"'{path}' holds null instead of a preprocessor config.");
        }
        catch (JsonException e)
        {
            throw new VqaPipelineException($"'{path}' is not a valid preprocessor config: {e.Message}", e);
        }
    }

    public static void Check(string processorName, int resample, double[]? mean, double[]? std)
    {
        if (resample != 3)
            throw new VqaPipelineException(
                $"{processorName}: resample={resample} is not supported; only 3 (PIL BICUBIC) is implemented.");
        if (mean is not { Length: 3 } || std is not { Length: 3 })
            throw new VqaPipelineException($"{processorName}: image_mean and image_std need 3 values, one per RGB channel.");
        if (std.Any(value => value == 0))
            throw new VqaPipelineException($"{processorName}: image_std must not contain 0.");
    }
}
