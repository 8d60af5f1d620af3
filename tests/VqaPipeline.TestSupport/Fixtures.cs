using System.Runtime.CompilerServices;
using System.Text.Json;

namespace VqaPipeline.TestSupport;

/// <summary>
/// Locates the reference fixtures: <c>VQA_FIXTURES</c> if set, else <c>../shared/fixtures</c> next to the repository root
/// (found from this source file's location, not from the bin folder). Missing files fail the test; they never skip it.
/// </summary>
public static class Fixtures
{
    public static string Root { get; } = ResolveRoot();

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string PathOf(params string[] parts)
    {
        var path = Path.Combine([Root, .. parts]);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"Fixture '{Path.Combine(parts)}' is missing under {Root}", path);
        return path;
    }

    /// <summary>Every fixture image (<c>images/*</c> except the notes), in name order.</summary>
    public static IReadOnlyList<string> Images()
    {
        var images = Directory.GetFiles(PathOf("images"))
            .Where(path => !path.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToArray();
        return images.Length > 0 ? images : throw new FileNotFoundException($"No fixture images under {Root}/images");
    }

    /// <summary>The first fixture JPEG (truncation tests need JPEG data).</summary>
    public static string Jpeg() =>
        Images().FirstOrDefault(path => path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase))
        ?? throw new FileNotFoundException($"No JPEG fixture under {Root}/images");

    public static JsonElement Manifest(params string[] parts)
    {
        using var stream = File.OpenRead(PathOf(parts));
        return JsonDocument.Parse(stream).RootElement.Clone();
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
