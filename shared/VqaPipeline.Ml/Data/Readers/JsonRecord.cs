using System.Text.Json;

namespace VqaPipeline.Ml.Data.Readers;

/// <summary>Typed access to one JSON-lines record; a field of the wrong kind is a <see cref="RecordException"/>.</summary>
internal readonly struct JsonRecord(JsonElement root)
{
    public static JsonRecord Parse(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? new JsonRecord(document.RootElement.Clone())
                : throw new RecordException($"is a JSON {document.RootElement.ValueKind}, not an object.");
        }
        catch (JsonException e)
        {
            throw new RecordException($"is not valid JSON ({e.Message})");
        }
    }

    public JsonElement? Field(string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public string? Text(string name) => Field(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw new RecordException($"field '{name}' is not a string."),
    };

    public string RequiredText(string name) =>
        Text(name) is { Length: > 0 } text ? text : throw new RecordException($"has no '{name}'.");

    public long? Integer(string name) => Field(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value when value.TryGetInt64(out var number) => number,
        { ValueKind: JsonValueKind.String } value when long.TryParse(value.GetString(), out var number) => number,
        _ => throw new RecordException($"field '{name}' is not an integer."),
    };
}

/// <summary>A record that cannot become an example; caught per record and reported as a <see cref="BadExample"/>.</summary>
internal sealed class RecordException(string problem) : Exception(problem);
