using System.Text.Encodings.Web;
using System.Text.Json;

namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>A question with the ten answers it was given: one row of each of the two VQA v2 files.</summary>
internal sealed record AnsweredQuestion(long ImageId, long QuestionId, SceneQuestion Question, IReadOnlyList<AnnotatorAnswer> Answers,
    string MultipleChoiceAnswer);

/// <summary>
/// Writes <c>questions.json</c> and <c>annotations.json</c> in the official VQA v2 shapes (compact, like the released
/// files), and the optional <c>scenes.json</c>.
/// </summary>
internal static class VqaFiles
{
    public const string QuestionsFile = "questions.json";
    public const string AnnotationsFile = "annotations.json";
    public const string ScenesFile = "scenes.json";
    public const string ImagesFolder = "images";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string ImageFileName(string dataSubtype, long imageId) => $"COCO_{dataSubtype}_{imageId:D12}.jpg";

    public static void WriteQuestions(string path, SyntheticOptions options, IEnumerable<AnsweredQuestion> rows) =>
        Write(path, options, "questions", rows, (json, row) =>
        {
            json.WriteNumber("image_id", row.ImageId);
            json.WriteString("question", row.Question.Text);
            json.WriteNumber("question_id", row.QuestionId);
        });

    public static void WriteAnnotations(string path, SyntheticOptions options, IEnumerable<AnsweredQuestion> rows) =>
        Write(path, options, "annotations", rows, (json, row) =>
        {
            json.WriteNumber("question_id", row.QuestionId);
            json.WriteStartArray("answers");
            foreach (var answer in row.Answers)
            {
                json.WriteStartObject();
                json.WriteString("answer", answer.Answer);
                json.WriteString("answer_confidence", answer.Confidence);
                json.WriteNumber("answer_id", answer.AnswerId);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNumber("image_id", row.ImageId);
            json.WriteString("question_type", row.Question.QuestionType);
            json.WriteString("answer_type", row.Question.AnswerType);
            json.WriteString("multiple_choice_answer", row.MultipleChoiceAnswer);
        });

    public static void WriteScenes(string path, SyntheticOptions options, IEnumerable<Scene> scenes)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, WriterOptions);
        json.WriteStartObject();
        json.WriteString("data_subtype", options.DataSubtype);
        json.WriteString("layout", options.Layout.ToString().ToLowerInvariant());
        json.WriteStartArray("scenes");
        foreach (var scene in scenes)
        {
            json.WriteStartObject();
            json.WriteNumber("image_id", scene.ImageId);
            json.WriteString("file_name", scene.FileName);
            json.WriteNumber("width", scene.Width);
            json.WriteNumber("height", scene.Height);
            json.WriteStartObject("background");
            WriteColor(json, "from", scene.Background.From);
            WriteColor(json, "to", scene.Background.To);
            json.WriteNumber("angle", scene.Background.AngleDegrees);
            json.WriteEndObject();
            json.WriteStartArray("objects");
            foreach (var item in scene.Objects)
            {
                json.WriteStartObject();
                json.WriteString("shape", SceneVocabulary.Word(item.Shape));
                json.WriteString("color", SceneVocabulary.Word(item.Color));
                json.WriteString("size", SceneVocabulary.Word(item.Size));
                json.WriteNumber("x", item.CenterX);
                json.WriteNumber("y", item.CenterY);
                json.WriteNumber("extent", item.Extent);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteColor(Utf8JsonWriter json, string name, Rgb color)
    {
        json.WriteStartArray(name);
        json.WriteNumberValue(color.R);
        json.WriteNumberValue(color.G);
        json.WriteNumberValue(color.B);
        json.WriteEndArray();
    }

    private static void Write(string path, SyntheticOptions options, string listName, IEnumerable<AnsweredQuestion> rows,
        Action<Utf8JsonWriter, AnsweredQuestion> writeRow)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, WriterOptions);
        json.WriteStartObject();
        WriteHeader(json, options);
        json.WriteStartArray(listName);
        foreach (var row in rows)
        {
            json.WriteStartObject();
            writeRow(json, row);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The official header. data_type stays "mscoco" because readers build image paths from it and from
    /// data_subtype the COCO way; date_created is fixed so that a seed always gives the same bytes.</summary>
    private static void WriteHeader(Utf8JsonWriter json, SyntheticOptions options)
    {
        json.WriteStartObject("info");
        json.WriteString("description",
            $"Synthetic shape scenes in the VQA v2 format (seed {options.Seed}, {options.Layout.ToString().ToLowerInvariant()} layout).");
        json.WriteString("url", "");
        json.WriteString("version", "2.0");
        json.WriteNumber("year", 2025);
        json.WriteString("contributor", "VqaPipeline synthetic scene generator");
        json.WriteString("date_created", "2025-01-01 00:00:00");
        json.WriteEndObject();
        json.WriteString("task_type", "Open-Ended");
        json.WriteString("data_type", "mscoco");
        json.WriteStartObject("license");
        json.WriteString("url", "http://creativecommons.org/licenses/by/4.0/");
        json.WriteString("name", "Creative Commons Attribution 4.0 International License");
        json.WriteEndObject();
        json.WriteString("data_subtype", options.DataSubtype);
    }
}
