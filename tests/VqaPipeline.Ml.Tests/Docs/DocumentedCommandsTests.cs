using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace VqaPipeline.Ml.Tests.Docs;

/// <summary>
/// Everything the README and <c>docs/*.md</c> tell a reader to run or follow still exists and still parses: every
/// <c>vqa</c> command line in a shell code block parses against the real command tree (nothing is run), every relative
/// link and its heading anchor resolves, every script named exists and is executable, every <c>curl</c> against the API
/// uses a route the gateway (or the service on that port) serves, and every repository path set as code exists.
/// One case per occurrence, named by file and line. Code blocks marked <c>text</c> (synopses, output) are not commands.
/// </summary>
public sealed partial class DocumentedCommandsTests
{
    private static readonly Lazy<IReadOnlyList<MarkdownDocument>> Documents = new(() =>
        new[] { "README.md" }
            .Concat(Directory.GetFiles(Path.Combine(Fixtures.RepositoryRoot, "docs"), "*.md").Order(StringComparer.Ordinal)
                .Select(path => "docs/" + Path.GetFileName(path)))
            .Select(MarkdownDocument.Read)
            .ToList());

    private static IEnumerable<(MarkdownDocument Document, int Number, string Text)> AllLines =>
        from document in Documents.Value
        from line in document.Lines.Select((text, index) => (index + 1, text))
        select (document, line.Item1, line.text);

    private static IEnumerable<(MarkdownDocument Document, int Number, string Text)> ShellLines =>
        from document in Documents.Value
        from block in document.CodeBlocks
        where block.IsShell
        from line in block.LogicalLines()
        select (document, line.Number, line.Text);

    public static TheoryData<string, int, string> VqaCommandLines()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var (document, number, text) in ShellLines.Where(line => VqaInvocationPattern().IsMatch(line.Text)))
            data.Add(document.RelativePath, number, text.Trim());
        return data;
    }

    public static TheoryData<string, int, string> RelativeLinks()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var document in Documents.Value)
        {
            foreach (var (number, target) in document.Links().Where(link => !SchemePattern().IsMatch(link.Target)))
                data.Add(document.RelativePath, number, target);
        }
        return data;
    }

    public static TheoryData<string, int, string> Scripts()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var (document, number, text) in AllLines)
        {
            foreach (Match script in ScriptPattern().Matches(text))
                data.Add(document.RelativePath, number, script.Groups["path"].Value);
        }
        return data;
    }

    public static TheoryData<string, int, string, string> ApiCalls()
    {
        var data = new TheoryData<string, int, string, string>();
        foreach (var (document, number, text) in ShellLines.Where(line => CurlPattern().IsMatch(line.Text)))
        {
            foreach (Match url in ApiUrlPattern().Matches(text))
            {
                var service = url.Groups["port"].Success ? PublicApiRoutes.ServiceOn(int.Parse(url.Groups["port"].Value)) : "gateway";
                if (service is not null)   // not a service: object storage, Seq, RabbitMQ's management
                    data.Add(document.RelativePath, number, service, url.Groups["path"].Value);
            }
        }
        return data;
    }

    public static TheoryData<string, int, string> RepositoryPaths()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var document in Documents.Value)
        {
            foreach (var (number, code) in document.Code())
            foreach (Match match in RepositoryPathPattern().Matches(code))
            {
                var path = match.Groups["path"].Value.TrimEnd('.', '-');
                var placeholder = match.Groups["after"].Value is "{" or "<" or "*" or "…";
                if (!placeholder && !path.Contains("/bin/") && !path.Contains("/obj/"))
                    data.Add(document.RelativePath, number, path);
            }
        }
        return data;
    }

    [Fact]
    public void The_docs_hold_commands_links_scripts_api_calls_and_paths_to_check()
    {
        // A pattern that stopped matching would make every theory below pass with nothing in it.
        Assert.True(VqaCommandLines().Count() >= 30, $"{VqaCommandLines().Count()} vqa command lines");
        Assert.True(RelativeLinks().Count() >= 50, $"{RelativeLinks().Count()} relative links");
        Assert.True(Scripts().Count() >= 20, $"{Scripts().Count()} scripts");
        Assert.True(ApiCalls().Count() >= 25, $"{ApiCalls().Count()} API calls");
        Assert.True(RepositoryPaths().Count() >= 60, $"{RepositoryPaths().Count()} repository paths");
        Assert.Equal(new[] { "indexing", "inference", "ingestion", "training" }, PublicApiRoutes.Owners.Order());
    }

    [Fact]
    public void The_readme_is_a_front_door_of_at_most_200_lines_that_links_every_page_of_docs()
    {
        var readme = Documents.Value.Single(document => document.RelativePath == "README.md");
        Assert.True(readme.Lines.Count <= 200, $"README.md has {readme.Lines.Count} lines");
        var linked = readme.Links().Select(link => link.Target.Split('#')[0]).ToHashSet();
        foreach (var page in Documents.Value.Where(document => document.RelativePath.StartsWith("docs/", StringComparison.Ordinal)))
            Assert.Contains(page.RelativePath, linked);
    }

    [Fact]
    public void The_command_tree_the_docs_are_parsed_against_has_every_command_vqa_serves()
    {
        Assert.Contains("ask", VqaCommandTree.ServedNames);
        Assert.Equal(VqaCommandTree.ServedNames.Order(), VqaCommandTree.Root.Subcommands.Select(command => command.Name).Order());
    }

    [Theory]
    [MemberData(nameof(VqaCommandLines))]
    public void A_documented_vqa_command_parses_against_the_real_command_tree(string document, int line, string commandLine)
    {
        var invocations = ShellLine.Commands(commandLine).Select(VqaArguments).OfType<string[]>().ToList();
        Assert.True(invocations.Count > 0, $"{document}:{line}: no vqa command found in `{commandLine}`");
        foreach (var arguments in invocations)
        {
            var parsed = VqaCommandTree.Root.Parse(arguments);
            var errors = parsed.Errors.Select(error => error.Message)
                .Concat(OptionLikeArguments(parsed).Select(token => $"'{token}' is no option of this command, so it was taken as an argument"))
                .ToList();
            Assert.True(errors.Count == 0, $"{document}:{line}: `{commandLine}` does not parse: {string.Join("; ", errors)}");
        }
    }

    /// <summary>
    /// Argument values that look like options: System.CommandLine gives a misspelled option (<c>--jsn</c>) to an
    /// optional argument with room left (<c>vqa ask IMAGE [QUESTION]</c>) rather than calling it an error.
    /// </summary>
    private static IEnumerable<string> OptionLikeArguments(ParseResult parsed)
    {
        for (var command = parsed.CommandResult; command is not null; command = command.Parent as CommandResult)
        {
            foreach (var token in command.Children.OfType<ArgumentResult>().SelectMany(argument => argument.Tokens))
            {
                if (token.Value.Length > 1 && token.Value[0] == '-' && !double.TryParse(token.Value, CultureInfo.InvariantCulture, out _))
                    yield return token.Value;
            }
        }
    }

    [Theory]
    [MemberData(nameof(RelativeLinks))]
    public void A_relative_link_points_to_an_existing_file_and_heading(string document, int line, string target)
    {
        var source = Documents.Value.Single(candidate => candidate.RelativePath == document);
        var hash = target.IndexOf('#');
        var path = Uri.UnescapeDataString(hash < 0 ? target : target[..hash]);
        var resolved = path.Length == 0
            ? Path.Combine(Fixtures.RepositoryRoot, document)
            : Path.GetFullPath(Path.Combine(source.Folder, path));
        Assert.True(File.Exists(resolved) || Directory.Exists(resolved), $"{document}:{line}: the link '{target}' points to nothing ({resolved})");
        if (hash < 0 || !resolved.EndsWith(".md", StringComparison.Ordinal))
            return;
        var anchor = target[(hash + 1)..];
        var linked = MarkdownDocument.Read(Path.GetRelativePath(Fixtures.RepositoryRoot, resolved));
        Assert.True(linked.Anchors.Contains(anchor),
            $"{document}:{line}: '{target}' names no heading of {linked.RelativePath}; its anchors: {string.Join(", ", linked.Anchors)}");
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void A_script_the_docs_name_exists_and_is_executable(string document, int line, string script)
    {
        var file = ScriptFile(script);
        Assert.True(file is not null, $"{document}:{line}: the script '{script}' does not exist");
        // A file with a #! line is run, so it must be executable; one without (settings.sh) is sourced.
        using (var reader = new StreamReader(file!))
        {
            if (reader.ReadLine()?.StartsWith("#!", StringComparison.Ordinal) != true)
                return;
        }
        if (OperatingSystem.IsWindows())
            return;
        Assert.True(File.GetUnixFileMode(file!).HasFlag(UnixFileMode.UserExecute),
            $"{document}:{line}: the script '{script}' is not executable (chmod +x {Path.GetRelativePath(Fixtures.RepositoryRoot, file!)})");
    }

    [Theory]
    [MemberData(nameof(ApiCalls))]
    public void A_curl_call_against_the_api_uses_a_route_that_service_serves(string document, int line, string service, string path)
    {
        var concrete = ShellVariablePattern().Replace(path, "x");
        Assert.True(PublicApiRoutes.Serves(service, concrete),
            $"{document}:{line}: {service} does not serve '{path}'; its routes: {string.Join(", ", PublicApiRoutes.PatternsOf(service))}");
    }

    [Theory]
    [MemberData(nameof(RepositoryPaths))]
    public void A_repository_path_the_docs_set_as_code_exists(string document, int line, string path)
    {
        var full = Path.Combine(Fixtures.RepositoryRoot, path);
        Assert.True(File.Exists(full) || Directory.Exists(full), $"{document}:{line}: '{path}' does not exist in the repository");
    }

    /// <summary>The arguments of a simple command that runs <c>vqa</c> (after any <c>NAME=value</c>), or null.</summary>
    private static string[]? VqaArguments(IReadOnlyList<string> words)
    {
        var program = words.TakeWhile(word => AssignmentPattern().IsMatch(word)).Count();
        if (program < words.Count && words[program] is "vqa" or "./vqa")
            return words.Skip(program + 1).ToArray();
        if (program + 1 < words.Count && words[program] == "dotnet" && words[program + 1].EndsWith("/vqa.dll", StringComparison.Ordinal))
            return words.Skip(program + 2).ToArray();
        return null;
    }

    /// <summary>
    /// A script by its path from the repository root, or — written bare, as prose names <c>up.sh</c> — by its name,
    /// at the root or anywhere under <c>infra/</c>.
    /// </summary>
    private static string? ScriptFile(string script)
    {
        var root = Fixtures.RepositoryRoot;
        if (script.Contains('/'))
            return File.Exists(Path.Combine(root, script)) ? Path.Combine(root, script) : null;
        return File.Exists(Path.Combine(root, script))
            ? Path.Combine(root, script)
            : Directory.EnumerateFiles(Path.Combine(root, "infra"), script, SearchOption.AllDirectories).FirstOrDefault();
    }

    /// <summary>A <c>vqa</c> (or <c>./vqa</c>, or <c>dotnet …/vqa.dll</c>) where a shell command starts.</summary>
    [GeneratedRegex(@"(?:^|[;|&]|\$\()\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:\./vqa|vqa|dotnet\s+\S*/vqa\.dll)(?:\s|$)")]
    private static partial Regex VqaInvocationPattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*=")]
    private static partial Regex AssignmentPattern();

    [GeneratedRegex(@"^[a-z][a-z0-9+.-]*:")]
    private static partial Regex SchemePattern();

    /// <summary>A shell script's path or name, or <c>./vqa</c>; not part of a longer path or URL.</summary>
    [GeneratedRegex(@"(?<![\w./~$-])(?:\./)?(?<path>(?:[\w.-]+/)*[\w.-]+\.sh|(?<=\./)vqa)(?![\w/.-])")]
    private static partial Regex ScriptPattern();

    [GeneratedRegex(@"(?<![\w-])curl(?![\w-])")]
    private static partial Regex CurlPattern();

    /// <summary>The API's base URL — the gateway's variables or 127.0.0.1 with a port — and the path after it.</summary>
    [GeneratedRegex(@"(?:\$\{?(?:api|API|VQA_API_URL|VQA_INGESTION_URL|VQA_SEARCH_URL)\}?|https?://(?:127\.0\.0\.1|localhost):(?<port>\d+))(?<path>/[^\s""'?#\\)]*)")]
    private static partial Regex ApiUrlPattern();

    [GeneratedRegex(@"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")]
    private static partial Regex ShellVariablePattern();

    /// <summary>A path under one of the repository's top folders, and the character after it (a placeholder's start).</summary>
    [GeneratedRegex(@"(?<![\w./$~-])(?<path>(?:services|shared|tests|infra|bench|build|examples|docs)/[A-Za-z0-9_./-]*)(?<after>.?)")]
    private static partial Regex RepositoryPathPattern();
}
