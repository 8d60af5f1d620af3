namespace VqaPipeline.Storage;

/// <summary>
/// The top-level folders of the system's bucket that the services write, so a prefix a caller names (an import's, a
/// training dataset's) can be kept out of them: what is there belongs to some team.
/// </summary>
public static class StorageAreas
{
    /// <summary>Every folder the services write: originals, model-ready copies, stored models, datasets.</summary>
    public static readonly IReadOnlyList<string> Written = [ObjectStore.OriginalsPrefix, "preprocessed", "models", "datasets"];

    /// <summary>
    /// The folders holding one team's data: its images, its models, and the datasets written from its collections for
    /// training runs. Other datasets (e.g. <c>datasets/vqa-v2-sample</c>) are what an operator put there for everyone.
    /// </summary>
    public static readonly IReadOnlyList<string> TeamOwned = [ObjectStore.OriginalsPrefix, "preprocessed", "models", "datasets/training-runs"];

    /// <summary>
    /// Whether listing <paramref name="prefix"/> can reach a key of one of <paramref name="folders"/>: listing matches by
    /// string prefix, so <c>"mod"</c> reaches <c>models/</c> as much as <c>"models/x"</c> does.
    /// </summary>
    public static bool Reaches(string prefix, IEnumerable<string> folders) =>
        folders.Select(folder => folder + "/").Any(folder => folder.StartsWith(prefix, StringComparison.Ordinal)
                                                          || prefix.StartsWith(folder, StringComparison.Ordinal));
}
