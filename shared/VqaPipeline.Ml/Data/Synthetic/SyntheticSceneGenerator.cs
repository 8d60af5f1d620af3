using System.Diagnostics;

namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>How many yes and no answers a family's questions have.</summary>
public sealed record YesNoCount(int Yes, int No)
{
    /// <summary>Yes answers over all yes/no answers (0.5 is balanced; 0 when there are none).</summary>
    public double YesFraction => Yes + No == 0 ? 0 : (double)Yes / (Yes + No);
}

/// <summary>
/// What <see cref="SyntheticSceneGenerator.Generate"/> wrote: questions per family (every family, zero for one never
/// asked) and the answers of the yes/no families (existence, spatial).
/// </summary>
public sealed record SyntheticDatasetStats(string OutputFolder, int Images, int Questions,
    IReadOnlyDictionary<QuestionFamily, int> QuestionsPerFamily, IReadOnlyDictionary<QuestionFamily, YesNoCount> YesNoPerFamily,
    TimeSpan Elapsed)
{
    public double ImagesPerSecond => Images / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>
/// Makes a synthetic VQA v2 dataset: scenes of circles, squares and triangles on pale backgrounds, questions about
/// them from four balanced families, and ten simulated annotators per question. Writes <c>questions.json</c>,
/// <c>annotations.json</c> and <c>images/COCO_{data_subtype}_{image_id:012}.jpg</c> (plus <c>scenes.json</c> when
/// asked). The same options always give the same bytes.
/// </summary>
public sealed class SyntheticSceneGenerator
{
    private const long ImageIdsPerSeed = 1_000_000;
    private const int QuestionIdsPerImage = 1000;

    private readonly SyntheticOptions _options;

    /// <exception cref="SyntheticDataException">A setting is out of range.</exception>
    public SyntheticSceneGenerator(SyntheticOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>
    /// Writes the dataset into <paramref name="outputFolder"/>, which must be new or empty; <paramref name="progress"/>
    /// hears how many images are written after each one.
    /// </summary>
    /// <exception cref="SyntheticDataException">The folder is not empty, or cannot be created or written.</exception>
    public SyntheticDatasetStats Generate(string outputFolder, CancellationToken cancellationToken = default, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(outputFolder);
        var stopwatch = Stopwatch.StartNew();
        var folder = Path.GetFullPath(outputFolder);
        var imagesFolder = Path.Combine(folder, VqaFiles.ImagesFolder);
        PrepareFolder(folder, imagesFolder);

        var random = new SplitMix64((ulong)_options.Seed);
        var sampler = new SceneSampler(_options);
        var writer = new QuestionWriter(_options.ImageSize, _options.Families);
        var scenes = new List<Scene>(_options.Images);
        var rows = new List<AnsweredQuestion>(_options.Images * _options.QuestionsPerImage);
        for (var index = 0; index < _options.Images; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var imageId = _options.Seed * ImageIdsPerSeed + index + 1;
            var scene = sampler.Sample(random, imageId, VqaFiles.ImageFileName(_options.DataSubtype, imageId));
            var questions = writer.Ask(scene, random, _options.QuestionsPerImage);
            rows.AddRange(questions.Select((question, q) =>
            {
                var answers = AnnotatorPanel.Answer(question, random);
                return new AnsweredQuestion(imageId, imageId * QuestionIdsPerImage + q, question, answers,
                    AnnotatorPanel.MostCommon(answers, question.Answer));
            }));
            scenes.Add(scene);
            WriteFile(Path.Combine(imagesFolder, scene.FileName), path => File.WriteAllBytes(path, SceneRenderer.RenderJpeg(scene)));
            progress?.Report(index + 1);
        }

        WriteFile(Path.Combine(folder, VqaFiles.QuestionsFile), path => VqaFiles.WriteQuestions(path, _options, rows));
        WriteFile(Path.Combine(folder, VqaFiles.AnnotationsFile), path => VqaFiles.WriteAnnotations(path, _options, rows));
        if (_options.WriteScenes)
            WriteFile(Path.Combine(folder, VqaFiles.ScenesFile), path => VqaFiles.WriteScenes(path, _options, scenes));
        return Summarize(folder, scenes.Count, rows, stopwatch.Elapsed);
    }

    private static void PrepareFolder(string folder, string imagesFolder)
    {
        if (File.Exists(folder))
            throw new SyntheticDataException($"output folder '{folder}' is a file: name a new or empty folder.");
        try
        {
            if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
                throw new SyntheticDataException($"output folder '{folder}' is not empty: name a new or empty folder.");
            Directory.CreateDirectory(imagesFolder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SyntheticDataException($"cannot create output folder '{folder}' ({e.Message}).", e);
        }
    }

    private static void WriteFile(string path, Action<string> write)
    {
        try
        {
            write(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SyntheticDataException($"cannot write '{path}' ({e.Message}).", e);
        }
    }

    private static SyntheticDatasetStats Summarize(string folder, int images, List<AnsweredQuestion> rows, TimeSpan elapsed)
    {
        var families = Enum.GetValues<QuestionFamily>()
            .Where(f => SyntheticOptions.DefaultFamilies.Contains(f) || rows.Any(r => r.Question.Family == f));
        var perFamily = families.ToDictionary(f => f, f => rows.Count(r => r.Question.Family == f));
        var yesNo = families
            .Where(f => rows.Any(r => r.Question.Family == f && r.Question.AnswerType == SceneQuestion.YesNo))
            .ToDictionary(f => f, f => new YesNoCount(
                rows.Count(r => r.Question.Family == f && r.Question.Answer == "yes"),
                rows.Count(r => r.Question.Family == f && r.Question.Answer == "no")));
        return new SyntheticDatasetStats(folder, images, rows.Count, perFamily, yesNo, elapsed);
    }
}
