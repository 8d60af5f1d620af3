using System.CommandLine;
using VqaPipeline.Ml.Checkpoints.Hub;

namespace VqaPipeline.Cli.Commands;

/// <summary><c>vqa download org/name[@rev]</c>: fetches a model into the Hugging Face cache and prints its folder.</summary>
internal static class DownloadCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "Hub id org/name[@revision]" };
        var command = new Command("download",
            "Download a model into the Hugging Face cache (shared with Python) and print its local folder.\n\n" +
            "Example:\n  vqa download dandelin/vilt-b32-finetuned-vqa\n  HF_ENDPOINT=http://127.0.0.1:8080 vqa download org/model@main")
        {
            model,
        };
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var folder = await ModelResolver.ResolveAsync(parse.GetRequiredValue(model), console.Hub, cancellationToken);
            console.Out.WriteLine(folder);
            return 0;
        });
        return command;
    }
}
