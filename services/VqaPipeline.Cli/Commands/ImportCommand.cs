using System.CommandLine;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// <c>vqa import</c>: asks the API (<c>VQA_API_URL</c>, the gateway) to register the images of a bucket prefix into a
/// collection, then follows the import, one line per change of its progress, to its end.
/// </summary>
internal static class ImportCommand
{
    public static Command Create(CliConsole console)
    {
        var collection = new Option<string>("--collection") { Description = "The collection (id) the images join", Required = true };
        var bucket = new Option<string>("--bucket") { Description = "The bucket holding the images", Required = true };
        var prefix = new Option<string?>("--prefix") { Description = "Only keys starting with this (default: the whole bucket)" };
        var api = new ApiOptions();
        var interval = new Option<double>("--interval")
        {
            Description = "Seconds between progress checks", DefaultValueFactory = _ => 2,
        };
        var json = CommonOptions.Json();

        var command = new Command("import",
            "Register the images already in a bucket into a collection, and follow the import to its end (settings: VQA_API_URL, VQA_API_KEY).\n\n" +
            "Examples:\n  vqa import --collection 0b9c… --bucket vqa-images --prefix catalog/2026/\n" +
            "  vqa import --collection 0b9c… --bucket partner-photos --json")
        {
            collection, bucket, prefix, interval, json,
        };
        api.AddTo(command);

        console.SetAction(command, async (parse, cancellationToken) =>
        {
            if (!Guid.TryParse(parse.GetValue(collection), out var collectionId))
                throw new CliUsageException($"--collection '{parse.GetValue(collection)}' is not a collection id (a GUID)");
            var seconds = parse.GetValue(interval);
            if (!(seconds is > 0 and <= 3600))
                throw new CliUsageException($"--interval {seconds} is not between 0 and 3600 seconds");
            using var client = api.Connect(parse);

            var import = await client.PostAsync<ImportProgress>($"collections/{collectionId}/imports",
                new { bucket = parse.GetValue(bucket), prefix = parse.GetValue(prefix) }, cancellationToken);
            console.Log($"import {import.ImportId}: s3://{import.Bucket}/{import.Prefix} into collection {collectionId}");
            var progress = console.Progress(parse, "import", "objects");
            var shown = "";
            while (true)
            {
                progress.Report(import.Registered + import.Duplicates + import.Skipped, import.Listed);
                // Without a bar (stderr redirected, --quiet), a line per change of the counts.
                var line = $"listed {import.Listed} · registered {import.Registered} · duplicates {import.Duplicates} · skipped {import.Skipped}";
                if (line != shown && !progress.Live && !parse.GetValue(json))
                    console.Log(shown = line);
                if (import.State != "running")
                    break;
                await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken);
                import = await client.GetAsync<ImportProgress>($"collections/{collectionId}/imports/{import.ImportId}", cancellationToken);
            }
            progress.Finish(import.State);

            if (parse.GetValue(json))
                console.WriteJson(import);
            else
            {
                console.Out.WriteLine($"import {import.ImportId} {import.State}: {import.Listed} objects listed, {import.Registered} registered, " +
                                      $"{import.Duplicates} duplicates, {import.Skipped} skipped");
                foreach (var skipped in import.SkippedObjects)
                    console.Out.WriteLine($"  skipped {skipped.Key}: {skipped.Reason}");
            }
            if (import.State == "failed")
                throw new CliUsageException($"import {import.ImportId} failed: {import.Reason}");
            return 0;
        });
        return command;
    }

    private sealed record SkippedObject(string Key, string Reason);

    /// <summary>The API's import (the fields this command shows).</summary>
    private sealed record ImportProgress(
        Guid ImportId, string Bucket, string Prefix, string State, string? Reason, long Listed, long Registered,
        long Duplicates, long Skipped, IReadOnlyList<SkippedObject> SkippedObjects);
}
