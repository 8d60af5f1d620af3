using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace VqaPipeline.Ml.Checkpoints.Hub;

/// <summary>A Hub model repository and the revision (branch, tag or commit) wanted from it: <c>org/name[@revision]</c>.</summary>
public sealed partial record ModelId
{
    public const string DefaultRevision = "main";
    private const int MaxRepoIdLength = 96;

    private ModelId(string repoId, string revision)
    {
        RepoId = repoId;
        Revision = revision;
    }

    /// <summary><c>org/name</c>, or a single-segment legacy name such as <c>gpt2</c>.</summary>
    public string RepoId { get; }

    /// <summary>Branch, tag or commit; <c>main</c> when none was given.</summary>
    public string Revision { get; }

    /// <summary>Whether <see cref="Revision"/> is a full commit hash, which never moves and needs no network once cached.</summary>
    public bool IsCommit => IsCommitHash(Revision);

    /// <summary>Parses <c>org/name</c>, <c>org/name@revision</c> or <c>name</c>, with the Hub's own naming rules.</summary>
    /// <exception cref="HubException">With <see cref="HubErrorReason.InvalidModelId"/> when the text is malformed.</exception>
    public static ModelId Parse(string text) =>
        TryParse(text, out var model, out var problem)
            ? model
            : throw new HubException(HubErrorReason.InvalidModelId,
                $"'{text}' is not a Hub model id (org/name[@revision]): {problem}");

    internal static bool TryParse(string text, [NotNullWhen(true)] out ModelId? model,
        [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.IndexOf('@');
        var repoId = at < 0 ? text : text[..at];
        var revision = at < 0 ? DefaultRevision : text[(at + 1)..];
        problem = ProblemWithRepoId(repoId) ?? ProblemWithRevision(revision);
        model = problem is null ? new ModelId(repoId, revision) : null;
        return model is not null;
    }

    /// <summary>The same repository at another revision.</summary>
    public ModelId AtRevision(string revision) => Parse($"{RepoId}@{revision}");

    public override string ToString() => Revision == DefaultRevision ? RepoId : $"{RepoId}@{Revision}";

    /// <summary>The folder Python's <c>huggingface_hub</c> uses for this repository inside the cache.</summary>
    internal string CacheFolderName => "models--" + RepoId.Replace("/", "--", StringComparison.Ordinal);

    internal static bool IsCommitHash(string revision) => CommitHash().IsMatch(revision);

    private static string? ProblemWithRepoId(string repoId)
    {
        if (repoId.Length == 0)
            return "the repository name is empty";
        if (repoId.Length > MaxRepoIdLength)
            return $"the repository name is longer than {MaxRepoIdLength} characters";
        if (!RepoIdShape().IsMatch(repoId))
            return "expected 'org/name' or 'name' made of letters, digits, '-', '_' and '.', each part starting and ending with a letter or digit";
        if (repoId.Contains("--", StringComparison.Ordinal) || repoId.Contains("..", StringComparison.Ordinal))
            return "'--' and '..' are not allowed in a repository name";
        return null;
    }

    private static string? ProblemWithRevision(string revision)
    {
        if (revision.Length == 0)
            return "the revision after '@' is empty";
        if (revision.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || revision.Contains('\\'))
            return "the revision contains whitespace, control characters or '\\'";
        // A branch like "refs/pr/1" becomes a path under refs/, so its segments must stay inside that folder.
        if (revision.Split('/').Any(segment => segment is "" or "." or ".."))
            return "the revision has an empty, '.' or '..' path segment";
        return null;
    }

    [GeneratedRegex(@"^(?:\w(?:[\w.-]*\w)?/)?\w(?:[\w.-]*\w)?$")]
    private static partial Regex RepoIdShape();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHash();
}
