using System.Runtime.CompilerServices;

namespace VqaPipeline.Ingestion.Tests.Support;

/// <summary>
/// Locates the reference fixtures: <c>VQA_FIXTURES</c> if set, else <c>../shared/fixtures</c> next to the repository root
/// (found from this source file's location, not from the bin folder). Missing files fail the test; they never skip it.
/// </summary>
public static class Fixtures
{
    public static string Root { get; } = ResolveRoot();

    /// <summary>Every image of <c>images/</c>, by file name.</summary>
    public static IReadOnlyList<string> Images() =>
        Directory.GetFiles(PathOf("images"))
            .Where(path => Path.GetExtension(path) is ".png" or ".jpg")
            .Order(StringComparer.Ordinal)
            .ToList();

    public static string PathOf(params string[] parts)
    {
        var path = Path.Combine([Root, .. parts]);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"Fixture '{Path.Combine(parts)}' is missing under {Root}", path);
        return path;
    }

    private static string ResolveRoot()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("VQA_FIXTURES");
        var root = string.IsNullOrWhiteSpace(fromEnvironment)
            ? Path.GetFullPath(Path.Combine(FindRepositoryRoot(), "..", "shared", "fixtures"))
            : Path.GetFullPath(fromEnvironment);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Fixture root '{root}' does not exist (set VQA_FIXTURES).");
        return root;
    }

    private static string FindRepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        var directory = new DirectoryInfo(Path.GetDirectoryName(sourceFile)!);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "VqaPipeline.sln")))
            directory = directory.Parent;
        return directory?.FullName
               ?? throw new DirectoryNotFoundException($"No VqaPipeline.sln above {sourceFile}");
    }
}
