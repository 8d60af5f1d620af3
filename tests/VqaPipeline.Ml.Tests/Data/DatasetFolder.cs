using System.Text.Json;
using Parquet.Serialization;
using VqaPipeline.Ml.Data;

namespace VqaPipeline.Ml.Tests.Data;

/// <summary>A temporary dataset folder that tests fill with generated files of each layout.</summary>
internal sealed class DatasetFolder : IDisposable
{
    public DatasetFolder()
    {
        Path = Directory.CreateTempSubdirectory("vqa-data-").FullName;
    }

    public string Path { get; }

    public static string SamplePath(params string[] parts) => Fixtures.PathOf(["vqa-v2-sample", .. parts]);

    /// <summary>The sample's COCO images, as (file name, bytes).</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> SampleImages() =>
        Directory.GetFiles(SamplePath("images")).Order(StringComparer.Ordinal)
            .Select(file => (System.IO.Path.GetFileName(file), System.IO.File.ReadAllBytes(file))).ToList();

    public string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public string Write(string name, string text)
    {
        var path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public string WriteBytes(string name, byte[] bytes)
    {
        var path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, bytes);
        return System.IO.Path.GetFullPath(path);
    }

    public string WriteJsonLines(string name, IEnumerable<object> records) =>
        Write(name, string.Join("\n", records.Select(record => JsonSerializer.Serialize(record))) + "\n");

    /// <summary>Copies the sample's images into <c>images/</c> (or another folder) and returns their paths.</summary>
    public IReadOnlyList<string> CopySampleImages(string folder = "images") =>
        SampleImages().Select(image => WriteBytes(System.IO.Path.Combine(folder, image.Name), image.Bytes)).ToList();

    public Task WriteParquetAsync<T>(string name, IEnumerable<T> rows)
    {
        var path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        return ParquetSerializer.SerializeAsync(rows, path);
    }

    public VqaDataset Open(DataOptions? options = null) => VqaDataset.Open(Path, options);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Rows in the lmms-lab/VQAv2 shape, as pyarrow writes them (snake_case columns, image struct).</summary>
internal sealed class ParquetImage
{
    public byte[]? bytes { get; set; }
    public string? path { get; set; }
}

internal sealed class ParquetAnswer
{
    public string? answer { get; set; }
    public string? answer_confidence { get; set; }
    public long answer_id { get; set; }
}

internal sealed class StructAnswersRow
{
    public long question_id { get; set; }
    public string? question { get; set; }
    public ParquetImage? image { get; set; }
    public List<ParquetAnswer>? answers { get; set; }
    public string? answer_type { get; set; }
    public string? question_type { get; set; }
}

internal sealed class StringAnswersRow
{
    public long question_id { get; set; }
    public string? question { get; set; }
    public ParquetImage? image { get; set; }
    public List<string>? answers { get; set; }
}
