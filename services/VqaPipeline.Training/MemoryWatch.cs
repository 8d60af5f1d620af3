using System.Diagnostics;

namespace VqaPipeline.Training;

/// <summary>
/// Samples the worker process's resident memory while an attempt trains and stops the attempt when it goes over the
/// run's bound. Resident memory is what a container limit or the kernel's out-of-memory killer counts, and it includes
/// libtorch's native allocations, which the .NET heap figures do not see. A bound below what the run needs ends the
/// attempt at its next step with a reason, instead of a kill that leaves the run to be taken again for ever.
/// </summary>
public sealed class MemoryWatch(long boundBytes, TimeSpan interval)
{
    private const double BytesPerMb = 1024 * 1024;
    private long _peakBytes;

    /// <summary>The bound a worker applies to a run: the tighter of the run's and the worker's, if either has one.</summary>
    public static long? BoundBytes(int? runMaxMemoryMb, int? workerMaxMemoryMb) =>
        (runMaxMemoryMb, workerMaxMemoryMb) switch
        {
            ({ } run, { } worker) => Math.Min(run, worker) * (long)BytesPerMb,
            ({ } run, null) => run * (long)BytesPerMb,
            (null, { } worker) => worker * (long)BytesPerMb,
            _ => null,
        };

    /// <summary>Why the attempt was stopped, once the memory went over the bound; null until then.</summary>
    public string? Exceeded { get; private set; }

    /// <summary>The highest resident memory seen so far, in bytes.</summary>
    public long PeakBytes => Interlocked.Read(ref _peakBytes);

    /// <summary>Samples until <paramref name="attempt"/> is cancelled; cancels it when the memory goes over the bound.</summary>
    public async Task WatchAsync(CancellationTokenSource attempt)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                var resident = ResidentBytes();
                if (resident > PeakBytes)
                    Interlocked.Exchange(ref _peakBytes, resident);
                if (resident > boundBytes)
                {
                    Exceeded = $"the worker's resident memory reached {resident / BytesPerMb:0} MB, over the run's memory bound of {boundBytes / BytesPerMb:0} MB";
                    await attempt.CancelAsync();
                    return;
                }
            } while (await timer.WaitForNextTickAsync(attempt.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The process's resident set size now (read afresh from the operating system, not cached).</summary>
    private static long ResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
