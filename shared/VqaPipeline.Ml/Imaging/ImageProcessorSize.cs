using System.Text.Json;
using System.Text.Json.Serialization;

namespace VqaPipeline.Ml.Imaging;

/// <summary>
/// The <c>size</c> field of <c>preprocessor_config.json</c>. Old configs store a bare number, which Hugging Face's
/// <c>get_size_dict</c> reads as <c>shortest_edge</c> for ViLT and as a square for BLIP; it is kept in all three
/// fields so each processor reads the one it needs.
/// </summary>
[JsonConverter(typeof(ImageProcessorSizeConverter))]
public sealed record ImageProcessorSize(int? ShortestEdge = null, int? Height = null, int? Width = null);

internal sealed class ImageProcessorSizeConverter : JsonConverter<ImageProcessorSize>
{
    public override ImageProcessorSize Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            var edge = reader.GetInt32();
            return new ImageProcessorSize(edge, edge, edge);
        }
        var fields = JsonSerializer.Deserialize<Dictionary<string, int>>(ref reader, options)
                     ?? throw new JsonException("size must be a number or an object.");
        return new ImageProcessorSize(
            fields.TryGetValue("shortest_edge", out var shortest) ? shortest : null,
            fields.TryGetValue("height", out var height) ? height : null,
            fields.TryGetValue("width", out var width) ? width : null);
    }

    public override void Write(Utf8JsonWriter writer, ImageProcessorSize value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        if (value.ShortestEdge is { } shortest)
            writer.WriteNumber("shortest_edge", shortest);
        if (value.Height is { } height)
            writer.WriteNumber("height", height);
        if (value.Width is { } width)
            writer.WriteNumber("width", width);
        writer.WriteEndObject();
    }
}
