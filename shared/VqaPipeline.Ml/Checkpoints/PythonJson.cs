using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>
/// Writes JSON the way Python's <c>json.dumps(obj, indent=2, sort_keys=True)</c> does, so files transformers would
/// write come out byte-identical: keys sorted, ", "-free indentation, non-ASCII escaped, floats in Python's repr
/// (<c>0.0</c>, <c>1e-12</c>). Numbers are written as their JSON text, which <see cref="FloatConverter"/> makes
/// Python-shaped for doubles.
/// </summary>
internal static class PythonJson
{
    /// <summary>Dicts transformers keeps with int keys; Python sorts those keys as numbers.</summary>
    private static readonly HashSet<string> IntegerKeyedProperties = new(StringComparer.Ordinal) { "id2label", "pruned_heads" };

    public static string Serialize(JsonNode? node)
    {
        var text = new StringBuilder();
        Write(text, node, indent: 0, integerKeys: false);
        return text.ToString();
    }

    private static void Write(StringBuilder text, JsonNode? node, int indent, bool integerKeys)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj when obj.Count == 0:
                text.Append("{}");
                break;
            case JsonObject obj:
                var keys = integerKeys && obj.All(pair => long.TryParse(pair.Key, out _))
                    ? obj.Select(pair => pair.Key).OrderBy(long.Parse)
                    : obj.Select(pair => pair.Key).Order(StringComparer.Ordinal);
                text.Append('{');
                var firstKey = true;
                foreach (var key in keys)
                {
                    text.Append(firstKey ? "\n" : ",\n").Append(' ', indent + 2);
                    firstKey = false;
                    WriteString(text, key);
                    text.Append(": ");
                    Write(text, obj[key], indent + 2, IntegerKeyedProperties.Contains(key));
                }
                text.Append('\n').Append(' ', indent).Append('}');
                break;
            case JsonArray array when array.Count == 0:
                text.Append("[]");
                break;
            case JsonArray array:
                text.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    text.Append(i == 0 ? "\n" : ",\n").Append(' ', indent + 2);
                    Write(text, array[i], indent + 2, integerKeys: false);
                }
                text.Append('\n').Append(' ', indent).Append(']');
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                WriteString(text, value.GetValue<string>());
                break;
            default:
                text.Append(node.ToJsonString());
                break;
        }
    }

    /// <summary>Python's <c>ensure_ascii</c> escaping: anything outside space..tilde becomes an escape.</summary>
    private static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case >= ' ' and <= '~': text.Append(c); break;
                default: text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
            }
        }
        text.Append('"');
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, fixed notation for 1e-4 ≤ |x| &lt; 1e16.</summary>
    public static string FormatFloat(double value)
    {
        if (double.IsNaN(value))
            return "NaN";
        if (double.IsInfinity(value))
            return value > 0 ? "Infinity" : "-Infinity";

        var sign = value < 0 || (value == 0 && double.IsNegative(value)) ? "-" : "";
        var roundTrip = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponent = 0;
        var e = roundTrip.IndexOf('E');
        if (e >= 0)
        {
            exponent = int.Parse(roundTrip[(e + 1)..], CultureInfo.InvariantCulture);
            roundTrip = roundTrip[..e];
        }
        var point = roundTrip.IndexOf('.') is var dot and >= 0 ? dot : roundTrip.Length;
        var digits = roundTrip.Replace(".", "");
        var leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        if (digits.Length == 0)
            return sign + "0.0";
        var decimalPoint = point - leadingZeros + exponent;

        if (decimalPoint is <= -4 or > 16)
        {
            var mantissa = digits.Length == 1 ? digits : $"{digits[0]}.{digits[1..]}";
            var power = decimalPoint - 1;
            return $"{sign}{mantissa}e{(power < 0 ? '-' : '+')}{Math.Abs(power):00}";
        }
        if (decimalPoint <= 0)
            return $"{sign}0.{new string('0', -decimalPoint)}{digits}";
        if (decimalPoint >= digits.Length)
            return $"{sign}{digits}{new string('0', decimalPoint - digits.Length)}.0";
        return $"{sign}{digits[..decimalPoint]}.{digits[decimalPoint..]}";
    }

    /// <summary>Serializes doubles as Python floats (always with a point or exponent), so the writer keeps them floats.</summary>
    internal sealed class FloatConverter : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) =>
            writer.WriteRawValue(FormatFloat(value), skipInputValidation: !double.IsFinite(value));
    }
}
