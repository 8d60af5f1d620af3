using VqaPipeline.Ml.Data;

namespace VqaPipeline.Ml.Tests.Data;

/// <summary>Graphcore/vqa JSON lines and image folders with metadata.jsonl / metadata.csv.</summary>
public sealed class JsonLinesReaderTests : IDisposable
{
    private readonly DatasetFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Graphcore_records_keep_label_texts_and_weights()
    {
        var images = _folder.CopySampleImages();
        _folder.WriteJsonLines("validation.jsonl",
        [
            new
            {
                question = "Where is he looking?", question_type = "none of the above", question_id = 262148000,
                image_id = images[1], answer_type = "other",
                label = new { ids = new[] { "at table", "down", "skateboard", "table" }, weights = new[] { 0.3, 1.0, 0.3, 0.3 } },
            },
            new { question = "Relative path?", image_id = Path.Combine("images", Path.GetFileName(images[0])) },
        ]);

        var dataset = _folder.Open();
        var examples = dataset.Read().ToList();

        Assert.Equal(VqaLayout.GraphcoreJsonl, dataset.Layout);
        Assert.Equal(262148000, examples[0].QuestionId);
        Assert.Equal(images[1], examples[0].Image.Path);
        Assert.Equal(("other", "none of the above"), (examples[0].AnswerType, examples[0].QuestionType));
        Assert.Equal(
            [new GivenLabel("at table", null, 0.3f), new("down", null, 1f), new("skateboard", null, 0.3f), new("table", null, 0.3f)],
            examples[0].GivenLabels);
        Assert.Empty(examples[0].Answers);
        Assert.Equal(1, examples[1].QuestionId); // no question_id: its position
        Assert.Equal(images[0], examples[1].Image.Path);
        Assert.Null(examples[1].GivenLabels);
    }

    [Fact]
    public void Numeric_label_ids_are_named_through_id2label()
    {
        var images = _folder.CopySampleImages();
        _folder.WriteJsonLines("train.jsonl",
            [new { question = "q", image_id = images[0], label = new { ids = new[] { 2, 0 }, weights = new[] { 0.9, 0.3 } } }]);

        var unnamed = _folder.Open().Read().Single();
        var named = _folder.Open(new DataOptions { Id2Label = new Dictionary<int, string> { [0] = "net", [1] = "x", [2] = "pitcher" } })
            .Read().Single();

        Assert.Equal([new GivenLabel(null, 2, 0.9f), new(null, 0, 0.3f)], unnamed.GivenLabels);
        Assert.Equal([new GivenLabel("pitcher", 2, 0.9f), new("net", 0, 0.3f)], named.GivenLabels);
    }

    [Fact]
    public void Broken_records_are_skipped_and_counted_or_named()
    {
        var images = _folder.CopySampleImages();
        _folder.Write("train.jsonl", string.Join("\n",
            $$"""{"question": "fine", "question_id": 1, "image_id": "{{images[0]}}"}""",
            """{"question": "broken", "image_id": """,
            $$$"""{"question": "mismatch", "question_id": 3, "image_id": "{{{images[0]}}}", "label": {"ids": ["a"], "weights": [1, 0.3]}}""",
            $$"""{"question": "no image", "question_id": 4, "image_id": "{{_folder.File("absent.jpg")}}"}"""));

        var skipping = _folder.Open(new DataOptions { OnBadExample = BadExamplePolicy.Skip });
        Assert.Equal([1L], skipping.Read().Select(e => e.QuestionId));
        Assert.Equal(3, skipping.Skipped.Count);
        Assert.Contains("line 2", skipping.Skipped[0].Where);
        Assert.Contains("not valid JSON", skipping.Skipped[0].Problem);
        Assert.Equal((3L, "'label' has 1 ids but 2 weights."), (skipping.Skipped[1].QuestionId, skipping.Skipped[1].Problem));
        Assert.Equal(4L, skipping.Skipped[2].QuestionId);

        var error = Assert.Throws<BadExampleException>(() => _folder.Open().Read().ToList());
        Assert.Contains("train.jsonl' line 2", error.Message);
    }

    [Fact]
    public void Metadata_jsonl_reads_answer_lists_and_repeats_a_single_answer_ten_times()
    {
        var images = _folder.CopySampleImages(".");
        _folder.WriteJsonLines("metadata.jsonl",
        [
            new { file_name = Path.GetFileName(images[0]), question = "What is it?", answers = new[] { "net", "Net", "mesh" }, answer_type = "other" },
            new { file_name = Path.GetFileName(images[1]), question = "Is it up?", answer = "yes", question_id = 77 },
            new { file_name = Path.GetFileName(images[2]), question = "Who?", answers = new object[] { new { answer = "man", answer_confidence = "yes" } } },
        ]);

        var dataset = _folder.Open();
        var examples = dataset.Read().ToList();

        Assert.Equal(VqaLayout.ImageFolder, dataset.Layout);
        Assert.Equal(images[0], examples[0].Image.Path);
        Assert.Equal(["net", "Net", "mesh"], examples[0].Answers.Select(a => a.Answer));
        Assert.Equal("other", examples[0].AnswerType);
        Assert.Equal(77, examples[1].QuestionId);
        Assert.Equal(Enumerable.Repeat(new HumanAnswer("yes"), 10), examples[1].Answers);
        Assert.Equal(2, examples[2].QuestionId);
        Assert.Equal([new HumanAnswer("man", "yes")], examples[2].Answers);
    }

    [Fact]
    public void Metadata_csv_reads_quoted_fields_and_json_answer_lists()
    {
        var images = _folder.CopySampleImages("pics");
        _folder.Write("metadata.csv",
            "file_name,question,answers,answer\n" +
            $"pics/{Path.GetFileName(images[0])},\"Is it red, or \"\"blue\"\"?\",\"[\"\"red\"\", \"\"blue\"\"]\",\n" +
            $"pics/{Path.GetFileName(images[1])},\"Two\nlines?\",,yes\n");

        var examples = _folder.Open().Read().ToList();

        Assert.Equal(2, examples.Count);
        Assert.Equal("Is it red, or \"blue\"?", examples[0].Question);
        Assert.Equal(["red", "blue"], examples[0].Answers.Select(a => a.Answer));
        Assert.Equal(images[1], examples[1].Image.Path);
        Assert.Equal("Two\nlines?", examples[1].Question);
        Assert.Equal(10, examples[1].Answers.Count(a => a.Answer == "yes"));
    }

    [Fact]
    public void Csv_answers_that_are_not_a_json_list_are_a_bad_example()
    {
        var images = _folder.CopySampleImages(".");
        _folder.Write("metadata.csv", $"file_name,question,answers\n{Path.GetFileName(images[0])},What?,red\n");

        var error = Assert.Throws<BadExampleException>(() => _folder.Open().Read().ToList());

        Assert.Contains("metadata.csv' line 2", error.Message);
        Assert.Contains("'answers' is not a JSON list", error.Message);
    }
}
