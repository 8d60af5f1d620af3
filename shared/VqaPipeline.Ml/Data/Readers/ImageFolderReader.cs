using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VqaPipeline.Ml.Data.Readers;

/// <summary>
/// A Hugging Face image folder: images next to <c>metadata.jsonl</c> or <c>metadata.csv</c> with <c>file_name</c>,
/// <c>question</c>, and <c>answers</c> (a list; in CSV a JSON list) or one <c>answer</c>. One answer stands for all
/// ten annotators agreeing, so it is repeated ten times. Optional: <c>question_id</c>, <c>answer_type</c>, <c>question_type</c>.
/// </summary>
internal sealed class ImageFolderReader(string directory, string metadataFile) : ILayoutReader
{
    public const string JsonlName = "metadata.jsonl";
    public const string CsvName = "metadata.csv";

    /// <summary>How many annotators VQA v2 asks per question.</summary>
    public const int AnnotatorsPerQuestion = 10;

    public VqaLayout Layout => VqaLayout.ImageFolder;

    public IReadOnlyList<string> Files => [metadataFile];

    public async IAsyncEnumerable<ReadResult> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long position = 0;
        await foreach (var (record, lineNumber) in RecordsAsync(cancellationToken))
        {
            ReadResult result;
            try
            {
                result = ToExample(record(), position);
            }
            catch (RecordException e)
            {
                result = new BadExample(null, $"'{metadataFile}' line {lineNumber}", e.Message);
            }
            position++;
            yield return result;
        }
    }

    /// <summary>Each row as a deferred parse, so that a malformed row becomes one bad example.</summary>
    private async IAsyncEnumerable<(Func<JsonRecord> Record, int LineNumber)> RecordsAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Path.GetFileName(metadataFile) == JsonlName)
        {
            await foreach (var (line, lineNumber) in JsonLines.ReadAsync(metadataFile, cancellationToken))
                yield return (() => JsonRecord.Parse(line), lineNumber);
            yield break;
        }
        foreach (var (row, lineNumber) in CsvRows.Read(metadataFile))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return (() => FromCsv(row), lineNumber);
        }
    }

    private static JsonRecord FromCsv(Dictionary<string, string> row)
    {
        var record = new JsonObject();
        foreach (var (column, cell) in row.Where(cell => cell.Value.Length > 0))
            record[column] = column == "answers" ? ParseAnswersCell(cell) : JsonValue.Create(cell);
        return new JsonRecord(JsonSerializer.SerializeToElement(record));
    }

    private static JsonNode? ParseAnswersCell(string cell)
    {
        try
        {
            return JsonNode.Parse(cell) as JsonArray ?? throw new RecordException("'answers' is not a JSON list.");
        }
        catch (JsonException)
        {
            throw new RecordException($"'answers' is not a JSON list: {cell}");
        }
    }

    private VqaExample ToExample(JsonRecord record, long position)
    {
        var questionId = record.Integer("question_id") ?? position;
        return new VqaExample
        {
            QuestionId = questionId,
            Image = ImageReference.File(DataFiles.Resolve(directory, record.RequiredText("file_name"))),
            Question = record.RequiredText("question"),
            Answers = Answers(record),
            AnswerType = record.Text("answer_type"),
            QuestionType = record.Text("question_type"),
        };
    }

    private static List<HumanAnswer> Answers(JsonRecord record)
    {
        if (record.Field("answers") is { } answers)
            return answers.ValueKind == JsonValueKind.Array
                ? answers.EnumerateArray().Select(Answer).ToList()
                : throw new RecordException("'answers' is not a list.");
        return record.Text("answer") is { } single
            ? Enumerable.Repeat(new HumanAnswer(single), AnnotatorsPerQuestion).ToList()
            : [];
    }

    private static HumanAnswer Answer(JsonElement answer) => answer.ValueKind switch
    {
        JsonValueKind.String => new HumanAnswer(answer.GetString()!),
        JsonValueKind.Object when new JsonRecord(answer).Text("answer") is { } text =>
            new HumanAnswer(text, new JsonRecord(answer).Text("answer_confidence")),
        _ => throw new RecordException($"answer {answer.GetRawText()} is neither a string nor {{\"answer\": ...}}."),
    };
}
