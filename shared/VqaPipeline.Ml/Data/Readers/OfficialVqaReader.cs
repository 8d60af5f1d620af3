using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VqaPipeline.Ml.Data.Readers;

/// <summary>
/// The official VQA v2 files: <c>questions.json</c>, optional <c>annotations.json</c>, and COCO images named
/// <c>COCO_{data_subtype}_{image_id:012d}.jpg</c> in <c>images/</c> (or <c>images/{data_subtype}/</c>, as the COCO
/// zips unpack). Questions without annotations are kept with no answers (test splits).
/// </summary>
internal sealed class OfficialVqaReader(string directory) : ILayoutReader
{
    public const string QuestionsFile = "questions.json";
    public const string AnnotationsFile = "annotations.json";

    private string QuestionsPath => Path.Combine(directory, QuestionsFile);

    private string AnnotationsPath => Path.Combine(directory, AnnotationsFile);

    public VqaLayout Layout => VqaLayout.OfficialJson;

    public IReadOnlyList<string> Files =>
        File.Exists(AnnotationsPath) ? [QuestionsPath, AnnotationsPath] : [QuestionsPath];

    public async IAsyncEnumerable<ReadResult> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var questions = await LoadAsync<QuestionsJson>(QuestionsPath, cancellationToken);
        if (questions.Questions is null)
            throw new VqaDataException($"'{QuestionsPath}' has no \"questions\" list: not a VQA questions file.");
        var annotations = File.Exists(AnnotationsPath)
            ? await LoadAnnotationsAsync(cancellationToken)
            : new Dictionary<long, AnnotationJson>();
        var imageFolder = ImageFolder(questions.DataSubtype);

        foreach (var question in questions.Questions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (string.IsNullOrWhiteSpace(question.Question))
            {
                yield return new BadExample(question.QuestionId, $"question {question.QuestionId}", $"has no text in '{QuestionsPath}'.");
                continue;
            }
            annotations.TryGetValue(question.QuestionId, out var annotation);
            var imageName = string.Create(CultureInfo.InvariantCulture, $"COCO_{questions.DataSubtype}_{question.ImageId:D12}.jpg");
            yield return new VqaExample
            {
                QuestionId = question.QuestionId,
                Image = ImageReference.File(Path.Combine(imageFolder, imageName)),
                Question = question.Question,
                Answers = annotation?.Answers?.Select(a => new HumanAnswer(a.Answer ?? "", a.AnswerConfidence)).ToList() ?? [],
                AnswerType = annotation?.AnswerType,
                QuestionType = annotation?.QuestionType,
            };
        }
    }

    private string ImageFolder(string? dataSubtype)
    {
        var images = Path.Combine(directory, "images");
        var bySubtype = Path.Combine(images, dataSubtype ?? "");
        return dataSubtype is not null && Directory.Exists(bySubtype) ? bySubtype : images;
    }

    private async Task<Dictionary<long, AnnotationJson>> LoadAnnotationsAsync(CancellationToken cancellationToken)
    {
        var annotations = await LoadAsync<AnnotationsJson>(AnnotationsPath, cancellationToken);
        if (annotations.Annotations is null)
            throw new VqaDataException($"'{AnnotationsPath}' has no \"annotations\" list: not a VQA annotations file.");
        var byQuestion = new Dictionary<long, AnnotationJson>(annotations.Annotations.Count);
        foreach (var annotation in annotations.Annotations)
            if (!byQuestion.TryAdd(annotation.QuestionId, annotation))
                throw new VqaDataException($"'{AnnotationsPath}' annotates question {annotation.QuestionId} twice.");
        return byQuestion;
    }

    private static async Task<T> LoadAsync<T>(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(stream, cancellationToken: cancellationToken)
                   ?? throw new VqaDataException($"'{path}' holds null instead of a JSON object.");
        }
        catch (JsonException e)
        {
            throw new VqaDataException($"'{path}' is not valid VQA JSON ({e.Message})", e);
        }
    }

    private sealed record QuestionsJson(
        [property: JsonPropertyName("data_subtype")] string? DataSubtype,
        [property: JsonPropertyName("questions")] List<QuestionJson>? Questions);

    private sealed record QuestionJson(
        [property: JsonPropertyName("question_id")] long QuestionId,
        [property: JsonPropertyName("image_id")] long ImageId,
        [property: JsonPropertyName("question")] string? Question);

    private sealed record AnnotationsJson([property: JsonPropertyName("annotations")] List<AnnotationJson>? Annotations);

    private sealed record AnnotationJson(
        [property: JsonPropertyName("question_id")] long QuestionId,
        [property: JsonPropertyName("answers")] List<AnswerJson>? Answers,
        [property: JsonPropertyName("answer_type")] string? AnswerType,
        [property: JsonPropertyName("question_type")] string? QuestionType);

    private sealed record AnswerJson(
        [property: JsonPropertyName("answer")] string? Answer,
        [property: JsonPropertyName("answer_confidence")] string? AnswerConfidence);
}
