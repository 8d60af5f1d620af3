namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>Where objects may stand.</summary>
public enum SceneLayout
{
    /// <summary>Anywhere in the image, kept apart by a small gap.</summary>
    Free,

    /// <summary>
    /// Centred in the cells of a grid whose lines fall on 32-pixel patch boundaries, so each object sits on the same
    /// patches of a ViT-B/32 image encoder wherever it stands (easier to learn, less natural).
    /// </summary>
    Grid,
}

/// <summary>What <see cref="SyntheticSceneGenerator"/> makes; the defaults give ViLT-sized 384-pixel scenes.</summary>
public sealed record SyntheticOptions
{
    public const int MaxImages = 999_999;
    public const int MaxSeed = 999_999;
    public const int MaxQuestionsPerImage = 20;
    public const int MinImageSize = 96;
    public const int MaxImageSize = 1024;
    public const int MaxObjectsPerScene = 6;

    /// <summary>Number of images (1 to <see cref="MaxImages"/>).</summary>
    public int Images { get; init; } = 1000;

    /// <summary>Fixes every choice; image ids are <c>seed * 1,000,000 + 1 ...</c>, so sets of different seeds never share ids.</summary>
    public int Seed { get; init; }

    public int QuestionsPerImage { get; init; } = 5;

    /// <summary>Width and height in pixels; a multiple of 32 for <see cref="SceneLayout.Grid"/>.</summary>
    public int ImageSize { get; init; } = 384;

    public int MinObjects { get; init; } = 1;

    public int MaxObjects { get; init; } = MaxObjectsPerScene;

    public SceneLayout Layout { get; init; } = SceneLayout.Free;

    /// <summary>The families asked when <see cref="Families"/> is not set.</summary>
    public static IReadOnlyList<QuestionFamily> DefaultFamilies { get; } =
        [QuestionFamily.Existence, QuestionFamily.Counting, QuestionFamily.Attribute, QuestionFamily.Spatial];

    /// <summary>
    /// The question families asked, balanced (default: <see cref="DefaultFamilies"/>). A subset focuses a training stage on what a model has
    /// not learned yet; scenes that allow no question of these families get none (spatial questions need two objects).
    /// </summary>
    public IReadOnlyList<QuestionFamily>? Families { get; init; }

    /// <summary>Also write <c>scenes.json</c>: every object's shape, colour, size and position, per image.</summary>
    public bool WriteScenes { get; init; }

    /// <summary>The VQA <c>data_subtype</c>, which also names the image files.</summary>
    public string DataSubtype => $"synth{Seed}";

    /// <summary>Throws <see cref="SyntheticDataException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        Require(Images is >= 1 and <= MaxImages, $"the number of images must be between 1 and {MaxImages} (got {Images}).");
        Require(Seed is >= 0 and <= MaxSeed, $"the seed must be between 0 and {MaxSeed} (got {Seed}).");
        Require(QuestionsPerImage is >= 1 and <= MaxQuestionsPerImage,
            $"questions per image must be between 1 and {MaxQuestionsPerImage} (got {QuestionsPerImage}).");
        Require(ImageSize is >= MinImageSize and <= MaxImageSize,
            $"the image size must be between {MinImageSize} and {MaxImageSize} pixels (got {ImageSize}).");
        Require(MinObjects is >= 1 and <= MaxObjectsPerScene && MaxObjects is >= 1 and <= MaxObjectsPerScene,
            $"object counts must be between 1 and {MaxObjectsPerScene} (got {MinObjects} to {MaxObjects}).");
        Require(MinObjects <= MaxObjects, $"the minimum object count {MinObjects} is above the maximum {MaxObjects}.");
        Require(Families is null || Families.Count > 0, "ask at least one question family.");
        if (Layout == SceneLayout.Grid)
        {
            Require(ImageSize % SceneSampler.PatchSize == 0,
                $"the grid layout needs an image size that is a multiple of {SceneSampler.PatchSize} (got {ImageSize}).");
            var cells = SceneSampler.GridFor(ImageSize).Cells;
            Require(MaxObjects <= cells,
                $"a {ImageSize}-pixel grid has {cells} cells, too few for {MaxObjects} objects: use a larger image or fewer objects.");
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new SyntheticDataException(message);
    }
}

/// <summary>Synthetic data cannot be made as asked: a setting out of range, or an output folder that cannot be used.</summary>
public sealed class SyntheticDataException(string message, Exception? inner = null) : VqaPipelineException(message, inner);
