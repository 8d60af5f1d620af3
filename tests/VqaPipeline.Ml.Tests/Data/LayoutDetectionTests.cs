using VqaPipeline.Ml.Data;

namespace VqaPipeline.Ml.Tests.Data;

/// <summary>Which layout a folder is taken for, and what an unrecognisable folder says; image problems per example.</summary>
public sealed class LayoutDetectionTests : IDisposable
{
    private readonly DatasetFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Each_layout_is_recognised_by_its_files()
    {
        Assert.Equal(VqaLayout.OfficialJson, VqaDataset.Open(DatasetFolder.SamplePath()).Layout);

        using var csv = new DatasetFolder();
        csv.Write("metadata.csv", "file_name,question,answer\n");
        Assert.Equal(VqaLayout.ImageFolder, csv.Open().Layout);

        using var jsonl = new DatasetFolder();
        jsonl.Write("metadata.jsonl", "");
        jsonl.Write("other.parquet", "");
        Assert.Equal(VqaLayout.ImageFolder, jsonl.Open().Layout); // metadata wins over stray shards

        using var parquet = new DatasetFolder();
        parquet.Write("data/train-00000-of-00001.parquet", "");
        Assert.Equal(VqaLayout.Parquet, parquet.Open().Layout);

        using var graphcore = new DatasetFolder();
        graphcore.Write("notes.jsonl", "{\"text\": \"unrelated\"}\n");
        graphcore.Write("train.jsonl", "{\"question\": \"q\", \"image_id\": \"a.jpg\"}\n");
        var dataset = graphcore.Open();
        Assert.Equal(VqaLayout.GraphcoreJsonl, dataset.Layout);
        Assert.Equal([graphcore.File("train.jsonl")], dataset.Files);
    }

    [Fact]
    public void An_unrecognised_folder_lists_what_was_looked_for()
    {
        _folder.Write("readme.txt", "hello");
        _folder.Write("records.jsonl", "{\"text\": \"unrelated\"}\n");

        var error = Assert.Throws<VqaDataException>(() => _folder.Open());

        Assert.Contains($"No VQA dataset found in '{_folder.Path}'", error.Message);
        foreach (var lookedFor in new[] { "questions.json", "metadata.jsonl", "metadata.csv", "*.parquet", "*.jsonl", "records.jsonl lack" })
            Assert.Contains(lookedFor, error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    [Fact]
    public void A_missing_folder_or_a_file_is_named()
    {
        var missing = Assert.Throws<VqaDataException>(() => VqaDataset.Open(_folder.File("absent")));
        Assert.Contains("does not exist", missing.Message);

        var file = Assert.Throws<VqaDataException>(() => VqaDataset.Open(DatasetFolder.SamplePath("questions.json")));
        Assert.Contains("is a file", file.Message);
    }

    [Fact]
    public void A_missing_image_names_the_question_and_the_file_or_is_skipped()
    {
        _folder.CopySampleImages(); // holds COCO_train2014_000000458752.jpg, not image 999
        _folder.Write("questions.json", """
            {"data_subtype": "train2014", "questions": [
              {"image_id": 458752, "question": "Present?", "question_id": 1},
              {"image_id": 999, "question": "Missing?", "question_id": 2},
              {"image_id": 458752, "question": "Present again?", "question_id": 3}]}
            """);

        var error = Assert.Throws<BadExampleException>(() => _folder.Open().Read().ToList());
        Assert.Equal(2, error.Example.QuestionId);
        Assert.Equal($"question 2: image '{_folder.File("images", "COCO_train2014_000000000999.jpg")}' file not found.", error.Message);

        var skipping = _folder.Open(new DataOptions { OnBadExample = BadExamplePolicy.Skip });
        Assert.Equal([1L, 3L], skipping.Read().Select(e => e.QuestionId));
        Assert.Equal(2, Assert.Single(skipping.Skipped).QuestionId);

        Assert.Equal(2, skipping.Read().Count()); // a new pass counts afresh
        Assert.Single(skipping.Skipped);
    }

    [Fact]
    public async Task An_undecodable_image_is_a_bad_example_when_loaded()
    {
        File.Copy(DatasetFolder.SamplePath("questions.json"), _folder.File("questions.json"));
        var images = _folder.CopySampleImages();
        foreach (var image in images) File.WriteAllText(image, "not a jpeg");

        var dataset = _folder.Open();
        var example = dataset.Read().First();
        var error = Assert.Throws<BadExampleException>(() => dataset.LoadImage(example));
        Assert.Contains($"question {example.QuestionId}: image '{example.Image.Path}'", error.Message);
        Assert.IsType<Ml.Imaging.ImageLoadException>(error.InnerException);

        await Assert.ThrowsAsync<BadExampleException>(async () => await dataset.ReadWithImagesAsync().ToListAsync());

        var skipping = _folder.Open(new DataOptions { OnBadExample = BadExamplePolicy.Skip });
        Assert.Empty(await skipping.ReadWithImagesAsync().ToListAsync());
        Assert.Equal(images.Count, skipping.Skipped.Count);
    }
}
