using VqaPipeline.Ml.Checkpoints.Hub;

namespace VqaPipeline.Cli;

/// <summary>
/// Download progress on stderr: a <see cref="ProgressBar"/> per file, drawn while <paramref name="live"/> says so (a
/// terminal, not <c>--quiet</c>), and each file's summary line once it is in.
/// </summary>
internal sealed class ProgressReporter(TextWriter error, Func<bool> live) : IProgress<HubDownloadProgress>
{
    private string? currentFile;
    private ProgressBar? bar;

    public void Report(HubDownloadProgress value)
    {
        if (value.File != currentFile)
        {
            bar?.Finish();
            currentFile = value.File;
            bar = new ProgressBar(error, $"download {value.File}", ProgressBar.Bytes, value.TotalBytes, live());
        }
        if (bar is null)
            return;
        bar.Report(value.BytesDone, value.TotalBytes);
        if (value.TotalBytes is long total && value.BytesDone >= total)
        {
            bar.Finish();
            bar = null;
        }
    }
}
