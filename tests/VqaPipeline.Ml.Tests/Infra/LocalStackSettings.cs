using System.Text.RegularExpressions;

namespace VqaPipeline.Ml.Tests.Infra;

/// <summary>The defaults <c>infra/local/settings.sh</c> gives the VQA_* settings (see <see cref="LocalStack"/>).</summary>
public static partial class LocalStackSettings
{
    /// <summary>The defaults in infra/local/settings.sh, read from its <c>NAME=${NAME:-default}</c> lines.</summary>
    public static IReadOnlyDictionary<string, string> ScriptDefaults()
    {
        var path = Path.Combine(Fixtures.RepositoryRoot, "infra", "local", "settings.sh");
        return File.ReadLines(path)
            .Select(line => DefaultLine().Match(line))
            .Where(match => match.Success && match.Groups["name"].Value == match.Groups["same"].Value)
            .ToDictionary(match => match.Groups["name"].Value, match => match.Groups["value"].Value);
    }

    [GeneratedRegex(@"^(?<name>VQA_\w+)=\$\{(?<same>VQA_\w+):-(?<value>[^$}]*)\}$")]
    private static partial Regex DefaultLine();
}
