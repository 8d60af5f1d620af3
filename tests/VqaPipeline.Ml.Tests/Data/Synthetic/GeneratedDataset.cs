using System.Text.Json;
using VqaPipeline.Ml.Data.Synthetic;

namespace VqaPipeline.Ml.Tests.Data.Synthetic;

/// <summary>A dataset the generator wrote into a fresh temp folder, with its JSON files parsed; deleted on dispose.</summary>
public sealed class GeneratedDataset : IDisposable
{
    public GeneratedDataset(SyntheticOptions options)
    {
        Options = options;
        Folder = Path.Combine(Directory.CreateTempSubdirectory("vqa-synth-").FullName, "out");
        Stats = new SyntheticSceneGenerator(options).Generate(Folder);
        Questions = Parse("questions.json");
        Annotations = Parse("annotations.json");
        Scenes = options.WriteScenes ? Parse("scenes.json") : null;
    }

    public SyntheticOptions Options { get; }

    public string Folder { get; }

    public SyntheticDatasetStats Stats { get; }

    public JsonElement Questions { get; }

    public JsonElement Annotations { get; }

    public JsonElement? Scenes { get; }

    public IEnumerable<JsonElement> QuestionRows => Questions.GetProperty("questions").EnumerateArray();

    public IEnumerable<JsonElement> AnnotationRows => Annotations.GetProperty("annotations").EnumerateArray();

    public IEnumerable<JsonElement> SceneRows =>
        (Scenes ?? throw new InvalidOperationException("generated without scenes.json")).GetProperty("scenes").EnumerateArray();

    /// <summary>Every file under the folder, by relative path, with its bytes.</summary>
    public SortedDictionary<string, byte[]> AllFiles() => new(
        Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories)
            .ToDictionary(path => Path.GetRelativePath(Folder, path), File.ReadAllBytes),
        StringComparer.Ordinal);

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(Folder)!, recursive: true);

    private JsonElement Parse(string name) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, name))).RootElement;
}

/// <summary>One 200-image free-layout dataset with scenes.json, shared by the tests of a class.</summary>
public sealed class FreeLayoutDataset : IDisposable
{
    public GeneratedDataset Dataset { get; } = new(new SyntheticOptions { Images = 200, Seed = 7, WriteScenes = true });

    public void Dispose() => Dataset.Dispose();
}
