using System.CommandLine;
using VqaPipeline.Cli.Commands;
using VqaPipeline.Ml.Checkpoints.Hub;

namespace VqaPipeline.Cli;

/// <summary>The <c>vqa</c> command: parses, dispatches, and turns every failure into one line on stderr.</summary>
public static class VqaCommandLine
{
    /// <summary>Runs <c>vqa</c> with the Hub settings of the environment (<c>HF_ENDPOINT</c>, <c>HF_HUB_CACHE</c>, …).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        RunAsync(args, stdout, stderr, HubOptions.FromEnvironment(), cancellationToken);

    /// <summary>Runs <c>vqa</c>; Hub ids are resolved with <paramref name="hub"/> instead of the environment's settings.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, HubOptions hub,
        CancellationToken cancellationToken = default)
    {
        var console = new CliConsole(stdout, stderr, hub);
        var root = new RootCommand(
            "vqa — visual question answering with Hugging Face ViLT checkpoints.\n\n" +
            "Examples:\n  vqa ask examples/images/COCO_synth71_000071000002.jpg \"Is there a red circle?\"   (the bundled shapes model)\n" +
            "  vqa ask photo.jpg \"How many cats are there?\" --model dandelin/vilt-b32-finetuned-vqa");
        foreach (var command in new[]
                 {
                     AskCommand.Create(console), DownloadCommand.Create(console), InspectCommand.Create(console),
                     TokenizeCommand.Create(console), PreprocessCommand.Create(console), BenchCommand.Create(console),
                     ScoreCommand.Create(console), EvalCommand.Create(console), DataCommand.Create(console),
                     FinetuneCommand.Create(console), ReplayCommand.Create(console), ExportCommand.Create(console),
                     ImportCommand.Create(console),
                     AdminCommand.Create(console),
                     JobsCommand.Create(console),
                     SearchCommand.Create(console),
                 })
            root.Subcommands.Add(command);
        root.Options.Add(console.Quiet);

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // System.CommandLine would print the whole help to stdout; a usage error is one line on stderr instead.
            var usage = string.Join("; ", parsed.Errors.Select(error => error.Message));
            var help = $"{string.Join(' ', CommandPath(parsed.CommandResult))} --help";
            await stderr.WriteLineAsync($"error: {usage} (see '{help}')");
            return CliConsole.InputError;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false },
            cancellationToken);
    }

    private static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new Stack<string>();
        for (; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Push(result.Parent is null ? "vqa" : result.Command.Name);
        return names;
    }
}
