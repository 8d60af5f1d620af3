using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Tests.Data;

/// <summary>Hugging Face parquet exports in the lmms-lab/VQAv2 shape, generated with Parquet.Net.</summary>
public sealed class ParquetVqaReaderTests : IDisposable
{
    private readonly DatasetFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static List<StructAnswersRow> StructRows(IReadOnlyList<(string Name, byte[] Bytes)> images) =>
        images.Select((image, i) => new StructAnswersRow
        {
            question_id = 1000 + i,
            question = $"What is in picture {i}?",
            image = new ParquetImage { bytes = image.Bytes, path = image.Name },
            answers = Enumerable.Range(1, 10).Select(k => new ParquetAnswer
            {
                answer = k <= 6 ? "cat" : "dog", answer_confidence = k % 2 == 0 ? "yes" : "maybe", answer_id = k,
            }).ToList(),
            answer_type = "other",
            question_type = "what is",
        }).ToList();

    private static List<StringAnswersRow> StringRows(IReadOnlyList<(string Name, byte[] Bytes)> images) =>
        images.Select((image, i) => new StringAnswersRow
        {
            question_id = 2000 + i,
            question = $"How many things in picture {i}?",
            image = new ParquetImage { bytes = image.Bytes, path = image.Name },
            answers = ["2", "two", "2"],
        }).ToList();

    [Fact]
    public async Task Two_shards_with_both_answer_shapes_read_in_order()
    {
        var images = DatasetFolder.SampleImages();
        await _folder.WriteParquetAsync("data/validation-00000-of-00002.parquet", StructRows(images));
        await _folder.WriteParquetAsync("data/validation-00001-of-00002.parquet", StringRows(images));

        var dataset = _folder.Open();
        var examples = await dataset.ReadAsync().ToListAsync();

        Assert.Equal(VqaLayout.Parquet, dataset.Layout);
        Assert.Equal(2, dataset.Files.Count);
        Assert.Equal(2 * images.Count, examples.Count);
        var (first, second) = (examples.Take(images.Count).ToList(), examples.Skip(images.Count).ToList());
        for (var i = 0; i < images.Count; i++)
        {
            Assert.Equal(1000 + i, first[i].QuestionId);
            Assert.Equal(images[i].Bytes, first[i].Image.Bytes);
            Assert.Equal(images[i].Name, first[i].Image.Path);
            Assert.Equal(Enumerable.Range(1, 10).Select(k => new HumanAnswer(k <= 6 ? "cat" : "dog", k % 2 == 0 ? "yes" : "maybe")),
                first[i].Answers);
            Assert.Equal(("other", "what is"), (first[i].AnswerType, first[i].QuestionType));

            Assert.Equal(2000 + i, second[i].QuestionId);
            Assert.Equal(["2", "two", "2"], second[i].Answers.Select(a => a.Answer));
            Assert.All(second[i].Answers, a => Assert.Null(a.Confidence));
            Assert.Null(second[i].AnswerType);
        }
    }

    [Fact]
    public async Task Stored_image_bytes_decode_like_the_file()
    {
        var images = DatasetFolder.SampleImages();
        await _folder.WriteParquetAsync("train.parquet", StructRows(images));
        var dataset = _folder.Open();

        var loaded = await dataset.ReadWithImagesAsync().ToListAsync();

        Assert.Equal(images.Count, loaded.Count);
        foreach (var ((_, bytes), (_, image)) in images.Zip(loaded))
        {
            var expected = new ImageLoader().LoadBytes(bytes);
            Assert.Equal((expected.Width, expected.Height), (image.Width, image.Height));
            Assert.Equal(expected.Pixels, image.Pixels);
        }
    }

    [Fact]
    public async Task Several_splits_need_a_choice()
    {
        var images = DatasetFolder.SampleImages();
        await _folder.WriteParquetAsync("data/validation-00000-of-00001.parquet", StructRows(images));
        await _folder.WriteParquetAsync("data/testdev-00000-of-00001.parquet", StringRows(images));

        var error = Assert.Throws<VqaDataException>(() => _folder.Open());
        Assert.Contains("several splits (testdev, validation)", error.Message);

        var testdev = _folder.Open(new DataOptions { Split = "testdev" });
        Assert.Equal([_folder.File("data", "testdev-00000-of-00001.parquet")], testdev.Files);
        Assert.All(testdev.Read(), example => Assert.InRange(example.QuestionId, 2000, 2999));

        var unknown = Assert.Throws<VqaDataException>(() => _folder.Open(new DataOptions { Split = "train" }));
        Assert.Contains("no split 'train'", unknown.Message);
    }

    [Fact]
    public async Task A_row_without_image_bytes_or_path_is_a_bad_example()
    {
        var rows = StructRows(DatasetFolder.SampleImages());
        rows[1].image = new ParquetImage();
        await _folder.WriteParquetAsync("train.parquet", rows);

        var error = Assert.Throws<BadExampleException>(() => _folder.Open().Read().ToList());
        Assert.Contains($"question {rows[1].question_id}", error.Message);
        Assert.Contains("neither bytes nor a path", error.Message);

        var skipping = _folder.Open(new DataOptions { OnBadExample = BadExamplePolicy.Skip });
        Assert.Equal(rows.Count - 1, skipping.Read().Count());
        Assert.Equal(rows[1].question_id, Assert.Single(skipping.Skipped).QuestionId);
    }

    [Fact]
    public async Task A_shard_without_the_needed_columns_is_named()
    {
        await _folder.WriteParquetAsync("train.parquet", new[] { new { question_id = 1L, text = "hello" } });

        var error = Assert.Throws<VqaDataException>(() => _folder.Open().Read().ToList());

        Assert.Contains("train.parquet", error.Message);
        Assert.Contains("no column question, image", error.Message);
    }

    [Fact]
    public void A_file_that_is_not_parquet_is_named()
    {
        _folder.Write("train.parquet", "not parquet at all");

        var error = Assert.Throws<VqaDataException>(() => _folder.Open().Read().ToList());

        Assert.Contains("cannot be read as parquet", error.Message);
    }
}
