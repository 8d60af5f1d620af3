using System.CommandLine;
using VqaPipeline.Cli.Commands;

namespace VqaPipeline.Cli;

/// <summary>The <c>vqa</c> command: parses, dispatches, and turns every failure into one line on stderr.</summary>
public static class VqaCommandLine
{
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var console = new CliConsole(stdout, stderr);
        var root = new RootCommand(
            "vqa — visual question answering with Hugging Face ViLT checkpoints.\n\n" +
            "Example:\n  vqa ask photo.jpg \"How many cats are there?\" --model dandelin/vilt-b32-finetuned-vqa");
        foreach (var command in new[]
                 {
                     AskCommand.Create(console), DownloadCommand.Create(console), InspectCommand.Create(console),
                     TokenizeCommand.Create(console), PreprocessCommand.Create(console), BenchCommand.Create(console),
                 })
            root.Subcommands.Add(command);

        var parsed = root.Parse(args);
        return parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false },
            cancellationToken);
    }
}
