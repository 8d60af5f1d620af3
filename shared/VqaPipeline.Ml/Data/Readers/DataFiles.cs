namespace VqaPipeline.Ml.Data.Readers;

/// <summary>Shard discovery shared by the layouts that may spread a dataset over several files.</summary>
internal static class DataFiles
{
    /// <summary>
    /// Keeps the files of one split. A file's split is its name up to the first '-' or '.'
    /// (<c>validation-00000-of-00004.parquet</c>, <c>train.jsonl</c>); several splits need <paramref name="split"/>.
    /// </summary>
    public static IReadOnlyList<string> SelectSplit(IReadOnlyList<string> files, string? split, string directory)
    {
        var bySplit = files.GroupBy(SplitOf, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var known = string.Join(", ", bySplit.Keys.Order(StringComparer.Ordinal));
        if (split is not null)
            return bySplit.TryGetValue(split, out var chosen)
                ? chosen
                : throw new VqaDataException($"'{directory}' has no split '{split}' (found: {known}).");
        if (bySplit.Count > 1)
            throw new VqaDataException($"'{directory}' holds several splits ({known}): choose one with --split (DataOptions.Split).");
        return files;
    }

    public static string SplitOf(string file)
    {
        var name = Path.GetFileName(file);
        var end = name.IndexOfAny(['-', '.']);
        return end < 0 ? name : name[..end];
    }

    public static IReadOnlyList<string> List(string directory, string pattern) =>
        Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, pattern).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>A path from the dataset, taken relative to the dataset folder unless it is absolute.</summary>
    public static string Resolve(string directory, string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(directory, path));
}
