using System.Text.RegularExpressions;
using VqaPipeline.Ml.Tests.Support;

namespace VqaPipeline.Ml.Tests.Infra;

/// <summary>
/// The VQA_* settings that <c>infra/local/up.sh</c> prints (and <c>./test.sh</c> exports), and the defaults
/// <c>infra/local/settings.sh</c> gives them.
/// </summary>
public static partial class LocalStackSettings
{
    public static readonly string[] StackVariables =
        ["VQA_RABBITMQ_URL", "VQA_POSTGRES", "VQA_S3_ENDPOINT", "VQA_S3_ACCESS_KEY", "VQA_S3_SECRET_KEY", "VQA_S3_BUCKET"];

    /// <summary>Set to 1 by ./test.sh: the stack must be there, so a missing setting fails instead of skipping.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("VQA_REQUIRE_STACK") == "1";

    public static IReadOnlyList<string> Missing { get; } =
        StackVariables.Where(name => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))).ToArray();

    public static string Get(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set: run ./test.sh, or eval \"$(infra/local/up.sh --infra-only)\" before dotnet test");

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

/// <summary>
/// A fact that needs the local stack. Skipped, with the reason shown, when the VQA_* settings are absent (a plain
/// <c>dotnet test</c>); run, and so failing with a message naming ./test.sh, when VQA_REQUIRE_STACK=1.
/// </summary>
public sealed class StackFactAttribute : FactAttribute
{
    public StackFactAttribute()
    {
        if (LocalStackSettings.Missing.Count > 0 && !LocalStackSettings.Required)
            Skip = $"the local stack is not configured ({string.Join(", ", LocalStackSettings.Missing)} unset): "
                   + "run ./test.sh, or eval \"$(infra/local/up.sh --infra-only)\" first";
    }
}
