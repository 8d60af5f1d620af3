using System.Diagnostics;

namespace VqaPipeline.TestSupport;

/// <summary>Waiting for what services do in the background: read again and again until it holds or patience runs out.</summary>
public static class Poll
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Reads the state until <paramref name="done"/> holds and returns it; past <paramref name="patience"/> throws a
    /// <see cref="TimeoutException"/> saying <paramref name="stillWhat"/> of the last state read.
    /// </summary>
    public static async Task<T> UntilAsync<T>(
        Func<Task<T>> read, Func<T, bool> done, TimeSpan patience, Func<T, string> stillWhat, TimeSpan? interval = null)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var state = await read();
            if (done(state))
                return state;
            if (deadline.Elapsed > patience)
                throw new TimeoutException($"{stillWhat(state)} after {patience}");
            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    /// <summary>Checks <paramref name="condition"/> until it holds; past <paramref name="patience"/> the timeout says <paramref name="stillWhat"/>.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, TimeSpan patience, string stillWhat, TimeSpan? interval = null) =>
        UntilAsync(condition, holds => holds, patience, _ => stillWhat, interval);
}
