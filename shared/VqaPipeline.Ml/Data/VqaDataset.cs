using System.Runtime.CompilerServices;
using VqaPipeline.Ml.Data.Readers;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Data;

/// <summary>The file layouts <see cref="VqaDataset.Open"/> recognises.</summary>
public enum VqaLayout
{
    /// <summary>Official VQA v2: questions.json, annotations.json, images/COCO_*.jpg.</summary>
    OfficialJson,
    /// <summary>Hugging Face parquet shards (lmms-lab/VQAv2): *.parquet in the folder or in data/.</summary>
    Parquet,
    /// <summary>Graphcore/vqa JSON lines with image paths and label ids/weights.</summary>
    GraphcoreJsonl,
    /// <summary>An image folder with metadata.jsonl or metadata.csv.</summary>
    ImageFolder,
}

/// <summary>
/// A VQA dataset folder, read as a stream of <see cref="VqaExample"/>s whatever its layout. Images stay on disk (or
/// encoded in their parquet row group) until <see cref="LoadImage"/> decodes one. Examples whose record is malformed
/// or whose image file is missing are handled by <see cref="DataOptions.OnBadExample"/>.
/// </summary>
public sealed class VqaDataset
{
    private readonly ILayoutReader _reader;
    private readonly ImageLoader _imageLoader;
    private readonly List<BadExample> _skipped = [];

    private VqaDataset(string directory, ILayoutReader reader, DataOptions options)
    {
        Directory = directory;
        _reader = reader;
        Options = options;
        _imageLoader = new ImageLoader(options.ImageLoading);
    }

    public string Directory { get; }

    public VqaLayout Layout => _reader.Layout;

    /// <summary>The data files read (questions/annotations, shards, JSON lines or metadata), in reading order.</summary>
    public IReadOnlyList<string> Files => _reader.Files;

    public DataOptions Options { get; }

    /// <summary>
    /// The examples skipped (<see cref="BadExamplePolicy.Skip"/>) by the current or latest pass over the dataset;
    /// each pass starts the list afresh.
    /// </summary>
    public IReadOnlyList<BadExample> Skipped => _skipped;

    /// <summary>
    /// Recognises the layout of <paramref name="directory"/>, in this order: <c>questions.json</c> (official),
    /// <c>metadata.jsonl</c>/<c>metadata.csv</c> (image folder), <c>*.parquet</c> in the folder or <c>data/</c>
    /// (Hugging Face), <c>*.jsonl</c> whose records have <c>question</c> and <c>image_id</c> (Graphcore/vqa).
    /// </summary>
    /// <exception cref="VqaDataException">The folder is missing, or none of the layouts matches (the message lists them).</exception>
    public static VqaDataset Open(string directory, DataOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        options ??= new DataOptions();
        var full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full))
            throw new VqaDataException(File.Exists(full)
                ? $"'{full}' is a file; pass the dataset folder that holds it."
                : $"Dataset folder '{full}' does not exist.");
        return new VqaDataset(full, DetectLayout(full, options), options);
    }

    private static ILayoutReader DetectLayout(string directory, DataOptions options)
    {
        if (File.Exists(Path.Combine(directory, OfficialVqaReader.QuestionsFile)))
            return new OfficialVqaReader(directory);
        foreach (var metadata in new[] { ImageFolderReader.JsonlName, ImageFolderReader.CsvName })
            if (File.Exists(Path.Combine(directory, metadata)))
                return new ImageFolderReader(directory, Path.Combine(directory, metadata));

        var shards = DataFiles.List(directory, "*.parquet");
        if (shards.Count == 0) shards = DataFiles.List(Path.Combine(directory, "data"), "*.parquet");
        if (shards.Count > 0)
            return new ParquetVqaReader(directory, DataFiles.SelectSplit(shards, options.Split, directory));

        var jsonLines = DataFiles.List(directory, "*.jsonl");
        var graphcore = jsonLines.Where(LooksLikeGraphcore).ToList();
        if (graphcore.Count > 0)
            return new GraphcoreJsonlReader(directory, DataFiles.SelectSplit(graphcore, options.Split, directory), options.Id2Label);

        throw new VqaDataException(
            $"No VQA dataset found in '{directory}'. Looked for: {OfficialVqaReader.QuestionsFile} (+ {OfficialVqaReader.AnnotationsFile}, " +
            $"images/) for official VQA v2; {ImageFolderReader.JsonlName} or {ImageFolderReader.CsvName} for an image folder; " +
            "*.parquet here or in data/ for a Hugging Face export; *.jsonl with 'question' and 'image_id' for Graphcore/vqa" +
            (jsonLines.Count > 0 ? $" ({string.Join(", ", jsonLines.Select(Path.GetFileName))} lack those fields)." : "."));
    }

    private static bool LooksLikeGraphcore(string file)
    {
        try
        {
            return JsonLines.FirstLine(file) is { } line && GraphcoreJsonlReader.LooksLikeGraphcore(JsonRecord.Parse(line));
        }
        catch (RecordException)
        {
            return false;
        }
    }

    /// <summary>
    /// Streams the examples. A malformed record or a missing image file is skipped (and listed in
    /// <see cref="Skipped"/>) or thrown as a <see cref="BadExampleException"/>, per <see cref="DataOptions.OnBadExample"/>.
    /// Images are only checked for existence here; <see cref="LoadImage"/> decodes them.
    /// </summary>
    public async IAsyncEnumerable<VqaExample> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _skipped.Clear();
        await foreach (var result in _reader.ReadAsync(cancellationToken).WithCancellation(cancellationToken))
        {
            var problem = result.Problem ?? MissingImage(result.Example!);
            if (problem is null) yield return result.Example!;
            else Reject(problem);
        }
    }

    /// <summary>The same stream as <see cref="ReadAsync"/>, for synchronous callers.</summary>
    public IEnumerable<VqaExample> Read() => ReadAsync().ToBlockingEnumerable();

    /// <summary>Streams examples with their decoded images; an image that cannot be decoded is a bad example.</summary>
    public async IAsyncEnumerable<(VqaExample Example, RgbImage Image)> ReadWithImagesAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var example in ReadAsync(cancellationToken))
        {
            RgbImage image;
            try
            {
                image = LoadImage(example);
            }
            catch (BadExampleException e) when (Options.OnBadExample == BadExamplePolicy.Skip)
            {
                _skipped.Add(e.Example);
                continue;
            }
            yield return (example, image);
        }
    }

    /// <summary>Decodes the example's image (EXIF orientation applied, RGB), as transformers' <c>load_image</c> does.</summary>
    /// <exception cref="BadExampleException">The image is missing or cannot be decoded; the message names the question and file.</exception>
    public RgbImage LoadImage(VqaExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        try
        {
            return example.Image.Bytes is { } bytes
                ? _imageLoader.LoadBytes(bytes)
                : _imageLoader.LoadFile(example.Image.Path!);
        }
        catch (ImageLoadException e)
        {
            var problem = e.Message.StartsWith($"Image {e.ImageSource}: ", StringComparison.Ordinal)
                ? e.Message[$"Image {e.ImageSource}: ".Length..]
                : e.Message;
            throw new BadExampleException(ImageProblem(example, problem), e);
        }
    }

    private static BadExample? MissingImage(VqaExample example) =>
        example.Image.Bytes is null && !File.Exists(example.Image.Path)
            ? ImageProblem(example, System.IO.Directory.Exists(example.Image.Path) ? "is a directory." : "file not found.")
            : null;

    private static BadExample ImageProblem(VqaExample example, string problem) =>
        new(example.QuestionId, $"question {example.QuestionId}", $"image {example.Image} {problem}");

    private void Reject(BadExample problem)
    {
        if (Options.OnBadExample == BadExamplePolicy.Fail) throw new BadExampleException(problem);
        _skipped.Add(problem);
    }
}
