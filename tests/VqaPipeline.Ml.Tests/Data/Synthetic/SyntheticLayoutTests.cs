using System.Text.Json;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Tests.Data.Synthetic;

/// <summary>The files are laid out, and shaped, like the official VQA v2 release (compared with the real sample).</summary>
public sealed class SyntheticLayoutTests(FreeLayoutDataset shared) : IClassFixture<FreeLayoutDataset>
{
    private static readonly string[] AnswerTypes = ["yes/no", "number", "other"];

    private GeneratedDataset Data => shared.Dataset;

    private static JsonElement Official(string name) =>
        JsonDocument.Parse(File.ReadAllBytes(Fixtures.PathOf("vqa-v2-sample", name))).RootElement;

    private static string[] Keys(JsonElement element) => element.EnumerateObject().Select(p => p.Name).Order().ToArray();

    /// <summary>The real annotations.json has the official header but trimmed rows; the derived file has full rows.</summary>
    [Theory]
    [InlineData("questions.json", "questions.json", "questions")]
    [InlineData("annotations.json", "annotations_evalready_DERIVED.json", "annotations")]
    public void Headers_and_rows_have_the_official_keys(string headerFile, string rowFile, string listName)
    {
        var official = Official(headerFile);
        var ours = listName == "questions" ? Data.Questions : Data.Annotations;

        Assert.Equal(Keys(official), Keys(ours));
        Assert.Equal(Keys(official.GetProperty("info")), Keys(ours.GetProperty("info")));
        Assert.Equal(Keys(official.GetProperty("license")), Keys(ours.GetProperty("license")));
        foreach (var header in new[] { "task_type", "data_type" })
            Assert.Equal(official.GetProperty(header).GetString(), ours.GetProperty(header).GetString());
        Assert.Equal("synth7", ours.GetProperty("data_subtype").GetString());

        var officialRow = Official(rowFile).GetProperty(listName)[0];
        foreach (var row in ours.GetProperty(listName).EnumerateArray())
        {
            Assert.Equal(Keys(officialRow), Keys(row));
            foreach (var property in officialRow.EnumerateObject())
                Assert.Equal(property.Value.ValueKind, row.GetProperty(property.Name).ValueKind);
        }
    }

    [Fact]
    public void Every_question_has_one_annotation_with_ten_official_answers()
    {
        var officialAnswer = Official("annotations_evalready_DERIVED.json").GetProperty("annotations")[0].GetProperty("answers")[0];
        var annotations = Data.AnnotationRows.ToDictionary(a => a.GetProperty("question_id").GetInt64());

        Assert.Equal(Data.Stats.Questions, Data.QuestionRows.Count());
        Assert.Equal(Data.Stats.Questions, annotations.Count);
        foreach (var question in Data.QuestionRows)
        {
            var annotation = annotations[question.GetProperty("question_id").GetInt64()];
            Assert.Equal(question.GetProperty("image_id").GetInt64(), annotation.GetProperty("image_id").GetInt64());
            Assert.Contains(annotation.GetProperty("answer_type").GetString(), AnswerTypes);
            var answers = annotation.GetProperty("answers").EnumerateArray().ToList();
            Assert.Equal(Enumerable.Range(1, 10), answers.Select(a => a.GetProperty("answer_id").GetInt32()));
            Assert.All(answers, a => Assert.Equal(Keys(officialAnswer), Keys(a)));
            Assert.All(answers, a => Assert.Contains(a.GetProperty("answer_confidence").GetString(), new[] { "yes", "maybe" }));
        }
    }

    [Fact]
    public void Ids_follow_the_official_numbering_offset_by_the_seed()
    {
        var imageIds = Data.QuestionRows.Select(q => q.GetProperty("image_id").GetInt64()).Distinct().ToList();

        Assert.Equal(Enumerable.Range(1, Data.Options.Images).Select(i => 7_000_000L + i), imageIds);
        foreach (var group in Data.QuestionRows.GroupBy(q => q.GetProperty("image_id").GetInt64()))
            Assert.Equal(Enumerable.Range(0, group.Count()).Select(i => group.Key * 1000 + i),
                group.Select(q => q.GetProperty("question_id").GetInt64()));
    }

    [Fact]
    public void Every_image_is_a_coco_named_jpeg_that_the_engine_decodes_at_the_stated_size()
    {
        var loader = new ImageLoader();
        var images = Directory.GetFiles(Path.Combine(Data.Folder, "images"));

        Assert.Equal(Data.Options.Images, images.Length);
        foreach (var scene in Data.SceneRows)
        {
            var imageId = scene.GetProperty("image_id").GetInt64();
            var path = Path.Combine(Data.Folder, "images", $"COCO_synth7_{imageId:D12}.jpg");
            Assert.Equal(Path.GetFileName(path), scene.GetProperty("file_name").GetString());
            Assert.Equal([0xFF, 0xD8], File.ReadAllBytes(path)[..2]);
            var image = loader.LoadFile(path);
            Assert.Equal((Data.Options.ImageSize, Data.Options.ImageSize), (image.Width, image.Height));
        }
    }

    [Fact]
    public void Question_types_read_like_official_ones_and_fit_the_answer_type()
    {
        var expected = new Dictionary<string, string>
        {
            ["is there a"] = "yes/no",
            ["how many"] = "number",
            ["what color is the"] = "other",
            ["what shape is the"] = "other",
            ["what size is the"] = "other",
            ["is the"] = "yes/no",
        };
        var questions = Data.QuestionRows.ToDictionary(q => q.GetProperty("question_id").GetInt64(), q => q.GetProperty("question").GetString()!);

        foreach (var annotation in Data.AnnotationRows)
        {
            var type = annotation.GetProperty("question_type").GetString()!;
            Assert.Equal(expected[type], annotation.GetProperty("answer_type").GetString());
            Assert.StartsWith(type, questions[annotation.GetProperty("question_id").GetInt64()].ToLowerInvariant());
        }
    }
}
