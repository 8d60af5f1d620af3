using System.Runtime.CompilerServices;
using System.Text.Json;

namespace VqaPipeline.Ml.Data.Readers;

/// <summary>
/// Graphcore/vqa style JSON lines: <c>question</c>, optional <c>question_id</c>, <c>image_id</c> (the image's path) and
/// <c>label: {ids, weights}</c>, where ids are answer texts, or numeric ids named through <see cref="DataOptions.Id2Label"/>.
/// Relative image paths are taken from the dataset folder.
/// </summary>
internal sealed class GraphcoreJsonlReader(string directory, IReadOnlyList<string> files, IReadOnlyDictionary<int, string>? id2Label)
    : ILayoutReader
{
    public VqaLayout Layout => VqaLayout.GraphcoreJsonl;

    public IReadOnlyList<string> Files => files;

    /// <summary>Whether a record has the fields that tell this layout apart from other JSON lines.</summary>
    public static bool LooksLikeGraphcore(JsonRecord record) =>
        record.Field("question") is not null && record.Field("image_id") is { ValueKind: JsonValueKind.String };

    public async IAsyncEnumerable<ReadResult> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long position = 0;
        foreach (var file in files)
            await foreach (var (line, lineNumber) in JsonLines.ReadAsync(file, cancellationToken))
            {
                ReadResult result;
                try
                {
                    result = ToExample(JsonRecord.Parse(line), position);
                }
                catch (RecordException e)
                {
                    result = new BadExample(null, $"'{file}' line {lineNumber}", e.Message);
                }
                position++;
                yield return result;
            }
    }

    private ReadResult ToExample(JsonRecord record, long position)
    {
        var questionId = record.Integer("question_id") ?? position;
        try
        {
            return new VqaExample
            {
                QuestionId = questionId,
                Question = record.RequiredText("question"),
                Image = ImageReference.File(DataFiles.Resolve(directory, record.RequiredText("image_id"))),
                AnswerType = record.Text("answer_type"),
                QuestionType = record.Text("question_type"),
                GivenLabels = record.Field("label") is { } label ? Labels(label) : null,
            };
        }
        catch (RecordException e)
        {
            return new BadExample(questionId, $"question {questionId}", e.Message);
        }
    }

    private List<GivenLabel> Labels(JsonElement label)
    {
        if (label.ValueKind != JsonValueKind.Object
            || !label.TryGetProperty("ids", out var ids) || ids.ValueKind != JsonValueKind.Array
            || !label.TryGetProperty("weights", out var weights) || weights.ValueKind != JsonValueKind.Array)
            throw new RecordException("'label' is not {\"ids\": [...], \"weights\": [...]}.");
        if (ids.GetArrayLength() != weights.GetArrayLength())
            throw new RecordException($"'label' has {ids.GetArrayLength()} ids but {weights.GetArrayLength()} weights.");
        return ids.EnumerateArray().Zip(weights.EnumerateArray(), Label).ToList();
    }

    private GivenLabel Label(JsonElement id, JsonElement weight)
    {
        if (weight.ValueKind != JsonValueKind.Number)
            throw new RecordException($"label weight {weight.GetRawText()} is not a number.");
        var score = weight.GetSingle();
        return id.ValueKind switch
        {
            JsonValueKind.String => new GivenLabel(id.GetString(), null, score),
            JsonValueKind.Number when id.TryGetInt32(out var number) =>
                new GivenLabel(id2Label is null ? null : AnswerOf(number), number, score),
            _ => throw new RecordException($"label id {id.GetRawText()} is neither a string nor an integer."),
        };
    }

    private string AnswerOf(int id) =>
        id2Label!.TryGetValue(id, out var answer) ? answer : throw new RecordException($"label id {id} is not in the given id2label.");
}

/// <summary>Non-blank lines of a text file with their 1-based line numbers.</summary>
internal static class JsonLines
{
    public static async IAsyncEnumerable<(string Line, int LineNumber)> ReadAsync(string file,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(file);
        var lineNumber = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            lineNumber++;
            if (!string.IsNullOrWhiteSpace(line)) yield return (line, lineNumber);
        }
    }

    public static string? FirstLine(string file) =>
        File.ReadLines(file).FirstOrDefault(line => !string.IsNullOrWhiteSpace(line));
}
