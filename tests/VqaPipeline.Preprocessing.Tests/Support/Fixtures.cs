using System.Runtime.CompilerServices;

namespace VqaPipeline.Preprocessing.Tests.Support;

/// <summary>
/// The reference fixtures: <c>VQA_FIXTURES</c> if set, else <c>../shared/fixtures</c> next to the repository root
/// (found from this source file's location). Missing files fail the test; they never skip it.
/// </summary>
public static class Fixtures
{
    public static string Root { get; } = ResolveRoot();

    /// <summary>Every fixture image (<c>images/*</c> except the notes), in name order.</summary>
    public static IReadOnlyList<string> Images()
    {
        var images = Directory.GetFiles(Path.Combine(Root, "images"))
            .Where(path => !path.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToArray();
        return images.Length > 0 ? images : throw new FileNotFoundException($"No fixture images under {Root}/images");
    }

    /// <summary>The first fixture JPEG (the truncation test needs JPEG data).</summary>
    public static string Jpeg() =>
        Images().FirstOrDefault(path => path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase))
        ?? throw new FileNotFoundException($"No JPEG fixture under {Root}/images");

    private static string ResolveRoot()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("VQA_FIXTURES");
        var root = string.IsNullOrWhiteSpace(fromEnvironment)
            ? Path.GetFullPath(Path.Combine(FindRepositoryRoot(), "..", "shared", "fixtures"))
            : Path.GetFullPath(fromEnvironment);
        return Directory.Exists(root)
            ? root
            : throw new DirectoryNotFoundException($"Fixture root '{root}' does not exist (set VQA_FIXTURES).");
    }

    private static string FindRepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        var directory = new DirectoryInfo(Path.GetDirectoryName(sourceFile)!);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "VqaPipeline.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new DirectoryNotFoundException($"No VqaPipeline.sln above {sourceFile}");
    }
}
