using System.CommandLine;
using System.Reflection;
using VqaPipeline.Cli;
using VqaPipeline.Ml.Checkpoints.Hub;

namespace VqaPipeline.Ml.Tests.Docs;

/// <summary>
/// The <c>vqa</c> command tree, built the way <see cref="VqaCommandLine"/> builds it — each top-level command from its
/// <c>Create(CliConsole)</c> in <c>VqaPipeline.Cli.Commands</c> — so a command line can be parsed without running it.
/// Which commands are top-level is what the real <c>vqa --help</c> lists (<see cref="ServedNames"/>), so the tree
/// here cannot drift from the one <c>vqa</c> serves.
/// </summary>
internal static class VqaCommandTree
{
    private static readonly Lazy<IReadOnlyList<string>> Served = new(ReadServedNames);
    private static readonly Lazy<RootCommand> Built = new(Build);

    /// <summary>The top-level command names <c>vqa --help</c> lists.</summary>
    public static IReadOnlyList<string> ServedNames => Served.Value;

    public static RootCommand Root => Built.Value;

    private static RootCommand Build()
    {
        var console = new CliConsole(TextWriter.Null, TextWriter.Null, new HubOptions());
        var root = new RootCommand();
        var creators = typeof(VqaCommandLine).Assembly.GetTypes()
            .Where(type => type.Namespace == "VqaPipeline.Cli.Commands")
            .Select(type => type.GetMethod("Create", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, [typeof(CliConsole)]))
            .Where(method => method?.ReturnType == typeof(Command));
        foreach (var create in creators)
        {
            var command = (Command)create!.Invoke(null, [console])!;
            if (ServedNames.Contains(command.Name))
                root.Subcommands.Add(command);
        }
        return root;
    }

    /// <summary>The names under "Commands:" in the real <c>vqa --help</c>, each on a line indented by two spaces.</summary>
    private static IReadOnlyList<string> ReadServedNames()
    {
        using var stdout = new StringWriter();
        var exitCode = VqaCommandLine.RunAsync(["--help"], stdout, TextWriter.Null, new HubOptions()).GetAwaiter().GetResult();
        Assert.Equal(0, exitCode);
        return stdout.ToString().Split('\n')
            .SkipWhile(line => line.TrimEnd() != "Commands:")
            .Where(line => line.Length > 2 && line.StartsWith("  ", StringComparison.Ordinal) && char.IsAsciiLetterLower(line[2]))
            .Select(line => line[2..].Split(' ')[0])
            .ToList();
    }
}
