using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and <c>data_offsets</c> into the byte buffer that follows, and optional string <c>__metadata__</c>.
/// Reading memory-maps the file and validates the header completely before any tensor is handed out.
/// </summary>
public static class Safetensors
{
    /// <summary>The largest header accepted (the limit of the reference implementation).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>Reads every tensor of <paramref name="path"/>; the result maps the file until disposed.</summary>
    public static StateDict Read(string path)
    {
        // The Hub cache links snapshot files to blobs: size the file a link points to, not the link.
        long fileLength;
        using (var stream = File.OpenRead(path)) fileLength = stream.Length;
        if (fileLength < sizeof(ulong))
            throw Malformed(path, $"the file is {fileLength} bytes, too short to hold the 8-byte header length");

        var mapped = new MappedFile(path, fileLength);
        try
        {
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(mapped.Span(0, sizeof(ulong)));
            if (headerLength > MaxHeaderLength)
                throw Malformed(path, $"the header claims {headerLength} bytes, more than the {MaxHeaderLength} allowed");
            if ((long)headerLength > fileLength - sizeof(ulong))
                throw Malformed(path, $"the header claims {headerLength} bytes but only {fileLength - sizeof(ulong)} follow (truncated file?)");

            var dataStart = sizeof(ulong) + (long)headerLength;
            var header = ParseHeader(path, mapped.Span(sizeof(ulong), (int)headerLength));
            var tensors = ValidateLayout(path, header.Entries, fileLength - dataStart)
                .Select(entry => new CheckpointTensor(
                    entry.Name, entry.DType, entry.Shape,
                    mapped.Memory(dataStart + entry.Begin, checked((int)(entry.End - entry.Begin)))))
                .ToList();
            return new StateDict(tensors, header.Metadata, [mapped]);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> with <paramref name="metadata"/> (by default
    /// <c>{"format": "pt"}</c>, what transformers writes), laid out like the reference writer: larger dtypes first,
    /// then by name, and the header padded with spaces to a multiple of 8 bytes.
    /// </summary>
    public static void Write(
        string path, IEnumerable<CheckpointTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = tensors
            .OrderByDescending(tensor => tensor.DType.ElementSize())
            .ThenBy(tensor => tensor.Name, StringComparer.Ordinal)
            .ToList();
        var header = EncodeHeader(ordered, metadata ?? new Dictionary<string, string> { ["format"] = "pt" });

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        Span<byte> length = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var tensor in ordered)
            stream.Write(tensor.Data.Span);
    }

    private static byte[] EncodeHeader(IReadOnlyList<CheckpointTensor> ordered, IReadOnlyDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject(MetadataKey);
            foreach (var (key, value) in metadata.OrderBy(pair => pair.Key, StringComparer.Ordinal))
                json.WriteString(key, value);
            json.WriteEndObject();
            long offset = 0;
            foreach (var tensor in ordered)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", tensor.DType.SafetensorsName());
                json.WriteStartArray("shape");
                foreach (var size in tensor.Shape)
                    json.WriteNumberValue(size);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.Data.Length;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        var padding = (8 - (int)(buffer.Length % 8)) % 8;
        buffer.Write(Enumerable.Repeat((byte)' ', padding).ToArray());
        return buffer.ToArray();
    }

    private sealed record HeaderEntry(string Name, TensorDType DType, long[] Shape, long Begin, long End);

    private sealed record Header(List<HeaderEntry> Entries, Dictionary<string, string> Metadata);

    private static Header ParseHeader(string path, ReadOnlySpan<byte> bytes)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Malformed(path, $"the header is not valid JSON ({e.Message})");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Malformed(path, "the header is not a JSON object");

            var entries = new List<HeaderEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw Malformed(path, $"the header names '{property.Name}' twice");
                if (property.Name == MetadataKey)
                    ReadMetadata(path, property.Value, metadata);
                else
                    entries.Add(ReadEntry(path, property.Name, property.Value));
            }
            return new Header(entries, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement element, Dictionary<string, string> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw Malformed(path, "__metadata__ is not a JSON object");
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String)
                throw Malformed(path, $"__metadata__ value '{property.Name}' is not a string");
            metadata[property.Name] = property.Value.GetString()!;
        }
    }

    private static HeaderEntry ReadEntry(string path, string name, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw Malformed(path, $"tensor '{name}' is not described by a JSON object");

        if (!element.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Malformed(path, $"tensor '{name}' has no dtype string");
        var dtypeName = dtypeElement.GetString()!;
        if (!TensorDTypes.TryParseSafetensorsName(dtypeName, out var dtype))
            throw Malformed(path, $"tensor '{name}' has unsupported dtype '{dtypeName}'");

        var shape = ReadIntegers(path, name, element, "shape");
        var offsets = ReadIntegers(path, name, element, "data_offsets");
        if (offsets.Length != 2 || offsets[1] < offsets[0])
            throw Malformed(path, $"tensor '{name}' data_offsets must be [begin, end] with begin <= end");

        var byteCount = CheckpointTensor.ByteCountOf(dtype, shape);
        if (byteCount is null || byteCount > int.MaxValue)
            throw Malformed(path, $"tensor '{name}' shape [{string.Join(", ", shape)}] is too large");
        if (byteCount != offsets[1] - offsets[0])
            throw Malformed(path,
                $"tensor '{name}' data_offsets [{offsets[0]}, {offsets[1]}] span {offsets[1] - offsets[0]} bytes but {dtypeName} [{string.Join(", ", shape)}] needs {byteCount}");
        return new HeaderEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(string path, string name, JsonElement element, string field)
    {
        if (!element.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw Malformed(path, $"tensor '{name}' has no {field} array");
        var values = new long[array.GetArrayLength()];
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var value) || value < 0)
                throw Malformed(path, $"tensor '{name}' {field} must hold non-negative integers");
            values[index++] = value;
        }
        return values;
    }

    /// <summary>Checks that the tensors tile the data buffer exactly: no overlap, no gap, nothing past its end.</summary>
    private static IEnumerable<HeaderEntry> ValidateLayout(string path, List<HeaderEntry> entries, long dataLength)
    {
        long expectedBegin = 0;
        foreach (var entry in entries.OrderBy(entry => entry.Begin).ThenBy(entry => entry.End))
        {
            if (entry.Begin < expectedBegin)
                throw Malformed(path, $"tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}] overlap the previous tensor");
            if (entry.Begin > expectedBegin)
                throw Malformed(path, $"the data buffer has a gap before tensor '{entry.Name}' at offset {expectedBegin}");
            if (entry.End > dataLength)
                throw Malformed(path,
                    $"tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}] run past the {dataLength} data bytes in the file (truncated file?)");
            expectedBegin = entry.End;
        }
        if (expectedBegin != dataLength)
            throw Malformed(path, $"the tensors cover {expectedBegin} data bytes but the file holds {dataLength}");
        return entries;
    }

    private static CheckpointFormatException Malformed(string path, string problem) =>
        new($"'{path}' is not a valid safetensors file: {problem}");
}
