using VqaPipeline.Ml.Checkpoints.Hub;

namespace VqaPipeline.Cli;

/// <summary>Download progress on stderr: a line rewritten in place on a terminal, nothing when redirected.</summary>
internal sealed class ProgressReporter(TextWriter error) : IProgress<HubDownloadProgress>
{
    private string? currentFile;
    private long lastReported;

    /// <summary>A reporter when <paramref name="error"/> is an interactive terminal, else null.</summary>
    public static IProgress<HubDownloadProgress>? For(TextWriter error) =>
        ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected ? new ProgressReporter(error) : null;

    public void Report(HubDownloadProgress value)
    {
        var finished = value.TotalBytes is long total && value.BytesDone >= total;
        if (value.File == currentFile && !finished && value.BytesDone - lastReported < 1 << 20) return;
        currentFile = value.File;
        lastReported = value.BytesDone;
        var size = value.TotalBytes is long all ? $"{Megabytes(value.BytesDone)}/{Megabytes(all)} MB" : $"{Megabytes(value.BytesDone)} MB";
        error.Write($"\r{value.File}: {size}   ");
        if (finished) error.WriteLine();
    }

    private static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
}
