using System.Text.Json;
using VqaPipeline.Ml.Data;

namespace VqaPipeline.Ml.Tests.Data;

/// <summary>The official VQA v2 layout, on the real sample (questions.json, annotations.json, COCO images).</summary>
public sealed class OfficialVqaReaderTests : IDisposable
{
    private readonly DatasetFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static JsonElement Json(string name) => JsonDocument.Parse(File.ReadAllBytes(DatasetFolder.SamplePath(name))).RootElement;

    [Fact]
    public void Sample_questions_come_with_their_ten_answers_and_coco_image()
    {
        var dataset = VqaDataset.Open(DatasetFolder.SamplePath());
        var examples = dataset.Read().ToList();

        Assert.Equal(VqaLayout.OfficialJson, dataset.Layout);
        var questions = Json("questions.json");
        var subtype = questions.GetProperty("data_subtype").GetString();
        var annotations = Json("annotations.json").GetProperty("annotations").EnumerateArray()
            .ToDictionary(a => a.GetProperty("question_id").GetInt64());
        var expected = questions.GetProperty("questions").EnumerateArray().ToList();
        Assert.Equal(expected.Count, examples.Count);
        foreach (var (question, example) in expected.Zip(examples))
        {
            var id = question.GetProperty("question_id").GetInt64();
            Assert.Equal(id, example.QuestionId);
            Assert.Equal(question.GetProperty("question").GetString(), example.Question);
            var image = $"COCO_{subtype}_{question.GetProperty("image_id").GetInt64():D12}.jpg";
            Assert.Equal(DatasetFolder.SamplePath("images", image), example.Image.Path);
            Assert.Null(example.Image.Bytes);
            var answers = annotations[id].GetProperty("answers").EnumerateArray()
                .Select(a => new HumanAnswer(a.GetProperty("answer").GetString()!, a.GetProperty("answer_confidence").GetString()));
            Assert.Equal(answers, example.Answers);
            Assert.Equal(10, example.Answers.Count);
            Assert.Null(example.AnswerType); // the sample's annotations.json was trimmed of the types
            Assert.Null(example.GivenLabels);
        }
        Assert.Empty(dataset.Skipped);
    }

    [Fact]
    public void Answer_and_question_types_are_read_when_annotated()
    {
        File.Copy(DatasetFolder.SamplePath("questions.json"), _folder.File("questions.json"));
        File.Copy(DatasetFolder.SamplePath("annotations_evalready_DERIVED.json"), _folder.File("annotations.json"));
        _folder.CopySampleImages();

        var examples = _folder.Open().Read().ToList();

        var annotations = Json("annotations_evalready_DERIVED.json").GetProperty("annotations").EnumerateArray()
            .ToDictionary(a => a.GetProperty("question_id").GetInt64());
        Assert.NotEmpty(examples);
        foreach (var example in examples)
        {
            Assert.Equal(annotations[example.QuestionId].GetProperty("answer_type").GetString(), example.AnswerType);
            Assert.Equal(annotations[example.QuestionId].GetProperty("question_type").GetString(), example.QuestionType);
        }
    }

    [Fact]
    public void Questions_without_annotations_are_read_for_prediction()
    {
        File.Copy(DatasetFolder.SamplePath("questions.json"), _folder.File("questions.json"));
        _folder.CopySampleImages();

        var dataset = _folder.Open();
        var examples = dataset.Read().ToList();

        Assert.Equal(Json("questions.json").GetProperty("questions").GetArrayLength(), examples.Count);
        Assert.All(examples, example => Assert.Empty(example.Answers));
        Assert.Equal([_folder.File("questions.json")], dataset.Files);
    }

    [Fact]
    public void Images_unpacked_into_a_subtype_folder_are_found()
    {
        File.Copy(DatasetFolder.SamplePath("questions.json"), _folder.File("questions.json"));
        var subtype = Json("questions.json").GetProperty("data_subtype").GetString()!;
        _folder.CopySampleImages(Path.Combine("images", subtype));

        var example = _folder.Open().Read().First();

        Assert.StartsWith(_folder.File("images", subtype), example.Image.Path);
        Assert.True(File.Exists(example.Image.Path));
    }

    [Fact]
    public void Sample_images_decode_at_their_size()
    {
        var dataset = VqaDataset.Open(DatasetFolder.SamplePath());
        var example = dataset.Read().First();

        var image = dataset.LoadImage(example);

        var expected = new Ml.Imaging.ImageLoader().LoadFile(example.Image.Path!);
        Assert.Equal((expected.Width, expected.Height), (image.Width, image.Height));
        Assert.Equal(expected.Pixels, image.Pixels);
    }

    [Fact]
    public void Malformed_questions_file_is_a_data_error()
    {
        _folder.Write("questions.json", "{\"questions\": [");

        var error = Assert.Throws<VqaDataException>(() => _folder.Open().Read().ToList());

        Assert.Contains("questions.json", error.Message);
        Assert.Contains("not valid VQA JSON", error.Message);
    }
}
