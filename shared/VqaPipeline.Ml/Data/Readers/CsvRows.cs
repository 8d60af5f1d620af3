using System.Text;

namespace VqaPipeline.Ml.Data.Readers;

/// <summary>RFC 4180 CSV (what pandas' <c>to_csv</c> writes): quoted fields may hold commas, quotes ("") and line breaks.</summary>
internal static class CsvRows
{
    /// <summary>The rows after the header as column → cell, each with the line it starts on.</summary>
    public static IEnumerable<(Dictionary<string, string> Row, int LineNumber)> Read(string file)
    {
        using var reader = new StreamReader(file);
        var records = Records(reader).GetEnumerator();
        if (!records.MoveNext()) yield break;
        var header = records.Current.Fields;
        while (records.MoveNext())
        {
            var (fields, lineNumber) = records.Current;
            if (fields.Count == 1 && fields[0].Length == 0) continue;
            if (fields.Count != header.Count)
                throw new VqaDataException($"'{file}' line {lineNumber} has {fields.Count} fields; the header has {header.Count}.");
            yield return (header.Zip(fields).ToDictionary(pair => pair.First, pair => pair.Second, StringComparer.Ordinal), lineNumber);
        }
    }

    private static IEnumerable<(List<string> Fields, int LineNumber)> Records(TextReader reader)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var recordLine = 1;
        var quoted = false;
        int next;
        while ((next = reader.Read()) >= 0)
        {
            var c = (char)next;
            if (quoted)
            {
                if (c == '"' && reader.Peek() == '"') field.Append((char)reader.Read());
                else if (c == '"') quoted = false;
                else
                {
                    if (c == '\n') line++;
                    field.Append(c);
                }
                continue;
            }
            switch (c)
            {
                case '"':
                    quoted = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    yield return (fields, recordLine);
                    fields = [];
                    recordLine = ++line;
                    break;
                default:
                    field.Append(c);
                    break;
            }
        }
        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            yield return (fields, recordLine);
        }
    }
}
