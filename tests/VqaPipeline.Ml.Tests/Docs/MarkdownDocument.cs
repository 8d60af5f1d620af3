using System.Text;
using System.Text.RegularExpressions;

namespace VqaPipeline.Ml.Tests.Docs;

/// <summary>A fenced code block: its info string (language, may be empty) and its lines with their line numbers.</summary>
internal sealed record CodeBlock(string Language, IReadOnlyList<(int Number, string Text)> Lines)
{
    /// <summary>
    /// Whether the block holds shell commands: <c>bash</c>, <c>sh</c>, <c>shell</c>, <c>console</c>, or no language.
    /// Synopses with <c>[optional]</c> parts and program output belong in <c>text</c> blocks.
    /// </summary>
    public bool IsShell => Language is "" or "bash" or "sh" or "shell" or "console";

    /// <summary>
    /// The block's lines with backslash continuations joined, each numbered by its first physical line: what a shell
    /// would read as one command line.
    /// </summary>
    public IEnumerable<(int Number, string Text)> LogicalLines()
    {
        var pending = new StringBuilder();
        var start = 0;
        foreach (var (number, text) in Lines)
        {
            if (pending.Length == 0)
                start = number;
            var trimmed = text.TrimEnd();
            if (trimmed.EndsWith('\\'))
            {
                pending.Append(trimmed[..^1]).Append(' ');
                continue;
            }
            pending.Append(text);
            yield return (start, pending.ToString());
            pending.Clear();
        }
        if (pending.Length > 0)
            yield return (start, pending.ToString());
    }
}

/// <summary>A Markdown file of the repository, read as GitHub renders it, as far as the documentation tests need.</summary>
internal sealed partial class MarkdownDocument
{
    private MarkdownDocument(string relativePath, string[] lines)
    {
        RelativePath = relativePath;
        Lines = lines;
        var blocks = new List<CodeBlock>();
        var prose = new List<(int, string)>();
        List<(int, string)>? open = null;
        var language = "";
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = FencePattern().Match(lines[i]);
            if (fence.Success && open is null)
            {
                open = [];
                language = fence.Groups["info"].Value.Trim().Split(' ')[0].ToLowerInvariant();
            }
            else if (fence.Success && fence.Groups["info"].Value.Trim().Length == 0)
            {
                blocks.Add(new CodeBlock(language, open!));
                open = null;
            }
            else if (open is not null)
            {
                open.Add((i + 1, lines[i]));
            }
            else
            {
                prose.Add((i + 1, lines[i]));
            }
        }
        CodeBlocks = blocks;
        ProseLines = prose;
        Anchors = HeadingAnchors(prose.Select(line => line.Item2));
    }

    /// <summary>The path from the repository root, with forward slashes (<c>docs/api.md</c>).</summary>
    public string RelativePath { get; }

    public IReadOnlyList<string> Lines { get; }

    public IReadOnlyList<CodeBlock> CodeBlocks { get; }

    /// <summary>The lines outside code blocks, numbered from 1.</summary>
    public IReadOnlyList<(int Number, string Text)> ProseLines { get; }

    /// <summary>The anchors GitHub gives the headings (<c>## Labels and the training service</c> → <c>labels-and-the-training-service</c>).</summary>
    public IReadOnlySet<string> Anchors { get; }

    /// <summary>The folder the document's relative links start from.</summary>
    public string Folder => Path.GetDirectoryName(Path.Combine(Fixtures.RepositoryRoot, RelativePath))!;

    public static MarkdownDocument Read(string relativePath) =>
        new(relativePath, File.ReadAllLines(Path.Combine(Fixtures.RepositoryRoot, relativePath)));

    /// <summary>Every link target written <c>[text](target)</c> outside code, with its line number.</summary>
    public IEnumerable<(int Number, string Target)> Links() =>
        from line in ProseLines
        from Match link in LinkPattern().Matches(InlineCodePattern().Replace(line.Text, ""))
        select (line.Number, link.Groups["target"].Value);

    /// <summary>The text set as code, with its line numbers: every line of every code block, and each inline code span.</summary>
    public IEnumerable<(int Number, string Text)> Code() =>
        CodeBlocks.SelectMany(block => block.Lines)
            .Concat(from line in ProseLines
                    from Match span in InlineCodePattern().Matches(line.Text)
                    select (line.Number, span.Value.Trim('`')))
            .OrderBy(line => line.Item1);

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered.</summary>
    private static HashSet<string> HeadingAnchors(IEnumerable<string> proseLines)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in proseLines)
        {
            var heading = HeadingPattern().Match(line);
            if (!heading.Success)
                continue;
            var text = LinkPattern().Replace(heading.Groups["text"].Value.Trim(), link => link.Groups["text"].Value);
            var slug = new string(text.ToLowerInvariant()
                .Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_')
                .Select(c => c == ' ' ? '-' : c).ToArray());
            var anchor = slug;
            for (var repeat = 1; !anchors.Add(anchor); repeat++)
                anchor = $"{slug}-{repeat}";
        }
        return anchors;
    }

    [GeneratedRegex(@"^ {0,3}```(?<info>[^`]*)$")]
    private static partial Regex FencePattern();

    [GeneratedRegex(@"^#{1,6} +(?<text>.+?) *#*$")]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"!?\[(?<text>[^\]]*)\]\((?<target>[^)\s]+)(?: +""[^""]*"")?\)")]
    private static partial Regex LinkPattern();

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex InlineCodePattern();
}
