using System.Collections;
using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Serialization;

namespace VqaPipeline.Ml.Data.Readers;

/// <summary>
/// Hugging Face parquet exports (the lmms-lab/VQAv2 layout): <c>question</c>, <c>question_id</c>, <c>image</c> as
/// <c>{bytes, path}</c>, <c>answers</c> as a list of <c>{answer, answer_confidence, answer_id}</c> or of strings, optional
/// <c>answer_type</c> and <c>question_type</c>. Read one row group at a time, so only that group's images are in memory.
/// </summary>
internal sealed class ParquetVqaReader(string directory, IReadOnlyList<string> shards) : ILayoutReader
{
    private static readonly string[] RequiredColumns = ["question", "image"];

    public VqaLayout Layout => VqaLayout.Parquet;

    public IReadOnlyList<string> Files => shards;

    public async IAsyncEnumerable<ReadResult> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long position = 0;
        foreach (var shard in shards)
        {
            var rowGroups = await CountRowGroupsAsync(shard, cancellationToken);
            for (var rowGroup = 0; rowGroup < rowGroups; rowGroup++)
            {
                foreach (var row in await ReadRowGroupAsync(shard, rowGroup, cancellationToken))
                    yield return ToExample(row, shard, position++);
            }
        }
    }

    private static async Task<int> CountRowGroupsAsync(string shard, CancellationToken cancellationToken)
    {
        try
        {
            await using var reader = await ParquetReader.CreateAsync(shard, cancellationToken: cancellationToken);
            var columns = reader.Schema.Fields.Select(field => field.Name).ToHashSet(StringComparer.Ordinal);
            var missing = RequiredColumns.Where(column => !columns.Contains(column)).ToList();
            if (missing.Count > 0)
                throw new VqaDataException($"'{shard}' has no column {string.Join(", ", missing)} " +
                                           $"(columns: {string.Join(", ", columns.Order(StringComparer.Ordinal))}).");
            return reader.RowGroupCount;
        }
        catch (Exception e) when (e is not VqaDataException and not OperationCanceledException)
        {
            throw new VqaDataException($"'{shard}' cannot be read as parquet ({e.Message})", e);
        }
    }

    private static async Task<IList<Dictionary<string, object>>> ReadRowGroupAsync(string shard, int rowGroup,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = File.OpenRead(shard);
            var result = await ParquetSerializer.DeserializeUntypedAsync(stream, rowGroupIndex: rowGroup, cancellationToken: cancellationToken);
            return result.Data;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new VqaDataException($"'{shard}' row group {rowGroup} cannot be read ({e.Message})", e);
        }
    }

    private ReadResult ToExample(Dictionary<string, object> row, string shard, long position)
    {
        long? givenId = null;
        try
        {
            givenId = Integer(row.GetValueOrDefault("question_id"), "question_id");
            var questionId = givenId ?? position;
            var question = Text(row.GetValueOrDefault("question"), "question");
            if (string.IsNullOrWhiteSpace(question)) throw new RecordException("has no 'question'.");
            return new VqaExample
            {
                QuestionId = questionId,
                Question = question,
                Image = Image(row.GetValueOrDefault("image"), shard),
                Answers = Answers(row.GetValueOrDefault("answers")),
                AnswerType = Text(row.GetValueOrDefault("answer_type"), "answer_type"),
                QuestionType = Text(row.GetValueOrDefault("question_type"), "question_type"),
            };
        }
        catch (RecordException e)
        {
            return givenId is { } id
                ? new BadExample(id, $"question {id}", e.Message)
                : new BadExample(null, $"'{shard}' row {position}", e.Message);
        }
    }

    private ImageReference Image(object? value, string shard)
    {
        if (value is not IDictionary image) throw new RecordException("has no 'image' struct {bytes, path}.");
        var name = Text(Get(image, "path"), "image.path");
        return Bytes(Get(image, "bytes")) switch
        {
            { Length: > 0 } bytes => ImageReference.Stored(bytes, name, shard),
            _ when !string.IsNullOrEmpty(name) => ImageReference.File(DataFiles.Resolve(directory, name)),
            _ => throw new RecordException($"has no image: 'image' holds neither bytes nor a path (in '{shard}')."),
        };
    }

    private static List<HumanAnswer> Answers(object? value) => value switch
    {
        null => [],
        IEnumerable answers and not string => answers.Cast<object?>().Select(Answer).ToList(),
        _ => throw new RecordException("'answers' is not a list."),
    };

    private static HumanAnswer Answer(object? value) => value switch
    {
        IDictionary answer when Text(Get(answer, "answer"), "answer") is { } text =>
            new HumanAnswer(text, Text(Get(answer, "answer_confidence"), "answer_confidence")),
        _ when Text(value, "answers") is { } text => new HumanAnswer(text),
        _ => throw new RecordException("an answer is neither a string nor {answer, ...}."),
    };

    private static object? Get(IDictionary record, string key) => record.Contains(key) ? record[key] : null;

    private static string? Text(object? value, string name) => value switch
    {
        null => null,
        string text => text,
        ReadOnlyMemory<char> text => text.ToString(),
        ReadOnlyMemory<byte> utf8 => System.Text.Encoding.UTF8.GetString(utf8.Span),
        byte[] utf8 => System.Text.Encoding.UTF8.GetString(utf8),
        _ => throw new RecordException($"'{name}' is a {value.GetType().Name}, not text."),
    };

    private static byte[]? Bytes(object? value) => value switch
    {
        null => null,
        byte[] bytes => bytes,
        ReadOnlyMemory<byte> bytes => bytes.ToArray(),
        _ => throw new RecordException($"'image.bytes' is a {value.GetType().Name}, not binary."),
    };

    private static long? Integer(object? value, string name) => value switch
    {
        null => null,
        long number => number,
        int number => number,
        _ when Text(value, name) is { } text && long.TryParse(text, out var number) => number,
        _ => throw new RecordException($"'{name}' is not an integer."),
    };
}
