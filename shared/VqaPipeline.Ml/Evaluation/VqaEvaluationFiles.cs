using System.Text.Json;

namespace VqaPipeline.Ml.Evaluation;

/// <summary>Annotations as read from a file, with how many lacked question_type / answer_type.</summary>
/// <param name="Annotations">In file order, which is the order the official evaluator scores them in.</param>
/// <param name="UntypedCount">Annotations whose missing question_type or answer_type became "unknown".</param>
public sealed record VqaAnnotationFile(IReadOnlyList<VqaAnnotation> Annotations, int UntypedCount);

/// <summary>Reads the official VQA v2 questions, annotations and results JSON files.</summary>
public static class VqaEvaluationFiles
{
    /// <summary>The type given to annotations that lack question_type or answer_type (allennlp trims them, for one).</summary>
    public const string UnknownType = "unknown";

    /// <summary>The question ids of a questions file (<c>{"questions": [{"question_id": …}, …]}</c>).</summary>
    public static IReadOnlyList<long> LoadQuestionIds(string path)
    {
        using var document = Parse(path, "questions");
        var questions = RequireArray(document.RootElement, "questions", path);
        return questions.EnumerateArray().Select((question, index) => RequireId(question, $"questions[{index}]", path)).ToList();
    }

    /// <summary>An annotations file (<c>{"annotations": [{"question_id", "answers": [{"answer", …}], …}]}</c>).</summary>
    public static VqaAnnotationFile LoadAnnotations(string path)
    {
        using var document = Parse(path, "annotations");
        var annotations = new List<VqaAnnotation>();
        var untyped = 0;
        var index = 0;
        foreach (var annotation in RequireArray(document.RootElement, "annotations", path).EnumerateArray())
        {
            var where = $"annotations[{index++}]";
            var id = RequireId(annotation, where, path);
            var answers = RequireArray(annotation, "answers", path, where).EnumerateArray()
                .Select((answer, i) => ReadHumanAnswer(answer, $"{where}.answers[{i}]", path)).ToList();
            var questionType = OptionalString(annotation, "question_type", where, path);
            var answerType = OptionalString(annotation, "answer_type", where, path);
            if (questionType is null || answerType is null) untyped++;
            annotations.Add(new VqaAnnotation(id, questionType ?? UnknownType, answerType ?? UnknownType, answers));
        }
        return new VqaAnnotationFile(annotations, untyped);
    }

    /// <summary>A results file (<c>[{"question_id": …, "answer": "…"}, …]</c>).</summary>
    public static IReadOnlyList<VqaPrediction> LoadResults(string path)
    {
        using var document = Parse(path, "results");
        if (document.RootElement.ValueKind != JsonValueKind.Array)
            throw new VqaEvaluationException($"results file '{path}' must be a JSON array of {{\"question_id\", \"answer\"}} objects.");
        return document.RootElement.EnumerateArray().Select((result, index) =>
        {
            var where = $"[{index}]";
            return new VqaPrediction(RequireId(result, where, path), RequireString(result, "answer", where, path));
        }).ToList();
    }

    private static JsonDocument Parse(string path, string kind)
    {
        if (Directory.Exists(path)) throw new VqaEvaluationException($"{kind} file '{path}' is a directory, not a file.");
        if (!File.Exists(path)) throw new VqaEvaluationException($"{kind} file '{path}' does not exist.");
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream);
        }
        catch (JsonException error)
        {
            throw new VqaEvaluationException($"{kind} file '{path}' is not valid JSON: {FirstLine(error.Message)}", error);
        }
    }

    private static VqaHumanAnswer ReadHumanAnswer(JsonElement answer, string where, string path)
    {
        var id = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("answer_id", out var answerId) &&
                 answerId.TryGetInt64(out var value) ? value : (long?)null;
        return new VqaHumanAnswer(RequireString(answer, "answer", where, path),
            OptionalString(answer, "answer_confidence", where, path), id);
    }

    private static JsonElement RequireArray(JsonElement parent, string name, string path, string? where = null)
    {
        var location = where is null ? name : $"{where}.{name}";
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out var array) ||
            array.ValueKind != JsonValueKind.Array)
            throw new VqaEvaluationException($"'{path}' has no \"{location}\" array.");
        return array;
    }

    private static long RequireId(JsonElement item, string where, string path)
    {
        if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("question_id", out var id) && id.TryGetInt64(out var value))
            return value;
        throw new VqaEvaluationException($"'{path}': {where} has no integer \"question_id\".");
    }

    private static string RequireString(JsonElement item, string name, string where, string path) =>
        OptionalString(item, name, where, path) ??
        throw new VqaEvaluationException($"'{path}': {where} has no \"{name}\" string.");

    private static string? OptionalString(JsonElement item, string name, string where, string path)
    {
        if (item.ValueKind != JsonValueKind.Object)
            throw new VqaEvaluationException($"'{path}': {where} is not a JSON object.");
        if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new VqaEvaluationException($"'{path}': {where}.{name} is not a string.");
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
