using Xunit;

namespace VqaPipeline.TestSupport;

/// <summary>The VQA_* settings that <c>infra/local/up.sh</c> prints and <c>./test.sh</c> exports.</summary>
public static class LocalStack
{
    public static readonly string[] Variables =
        ["VQA_RABBITMQ_URL", "VQA_POSTGRES", "VQA_S3_ENDPOINT", "VQA_S3_ACCESS_KEY", "VQA_S3_SECRET_KEY", "VQA_S3_BUCKET"];

    /// <summary>Set to 1 by ./test.sh: the stack must be there, so a missing setting fails instead of skipping.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("VQA_REQUIRE_STACK") == "1";

    public static IReadOnlyList<string> Missing { get; } =
        Variables.Where(name => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))).ToArray();

    public static bool Skipped => Missing.Count > 0 && !Required;

    /// <summary>Why a test that needs the stack is skipped, when <see cref="Skipped"/>.</summary>
    public static string SkipReason =>
        $"the local stack is not configured ({string.Join(", ", Missing)} unset): "
        + "run ./test.sh, or eval \"$(infra/local/up.sh --infra-only)\" first";

    public static string Get(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set: run ./test.sh, or eval \"$(infra/local/up.sh --infra-only)\" before dotnet test");
}

/// <summary>
/// A fact that needs the local stack. Skipped, with the reason shown, when the VQA_* settings are absent (a plain
/// <c>dotnet test</c>); run, and so failing with a message naming ./test.sh, when VQA_REQUIRE_STACK=1.
/// </summary>
public sealed class StackFactAttribute : FactAttribute
{
    public StackFactAttribute()
    {
        if (LocalStack.Skipped)
            Skip = LocalStack.SkipReason;
    }
}
