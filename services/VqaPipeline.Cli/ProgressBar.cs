using System.Diagnostics;
using System.Globalization;

namespace VqaPipeline.Cli;

/// <summary>A writer that is an interactive terminal (tests mark a <see cref="StringWriter"/> so).</summary>
public interface ITerminalWriter;

/// <summary>
/// The progress of a long command on stderr: a bar rewritten in place with the count, the total when known, the rate
/// and the time left — only when stderr is a terminal and <c>--quiet</c> was not given — and, always, one summary line
/// when the work ends (<c>eval: 200 questions in 41.2 s (4.9/s)</c>).
/// </summary>
public sealed class ProgressBar : IProgress<int>
{
    private const int BarWidth = 24;
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);

    private readonly TextWriter _error;
    private readonly string _label;
    private readonly string _unit;
    private readonly bool _bytes;
    private readonly Func<TimeSpan> _clock;
    private TimeSpan? _lastDrawn;
    private (long Done, TimeSpan At)? _first;
    private int _drawnLength;
    private bool _finished;

    /// <param name="error">Where the bar and the summary go (stderr).</param>
    /// <param name="label">What is progressing (the command's name).</param>
    /// <param name="unit">What is counted, plural ("questions"); <see cref="Bytes"/> counts bytes and shows MB.</param>
    /// <param name="total">How many there will be, when known.</param>
    /// <param name="live">Whether to draw the bar (stderr is a terminal, not quiet); the summary is written either way.</param>
    /// <param name="clock">Time since the start (a stopwatch unless a test gives its own).</param>
    public ProgressBar(TextWriter error, string label, string unit, long? total, bool live, Func<TimeSpan>? clock = null)
    {
        _error = error;
        _label = label;
        _unit = unit;
        _bytes = unit == Bytes;
        Total = total;
        Live = live;
        if (clock is null)
        {
            var stopwatch = Stopwatch.StartNew();
            clock = () => stopwatch.Elapsed;
        }
        _clock = clock;
    }

    /// <summary>The unit of a bar that counts bytes.</summary>
    public const string Bytes = "bytes";

    /// <summary>Whether the bar is drawn (the summary line is written either way).</summary>
    public bool Live { get; }

    /// <summary>How many are done.</summary>
    public long Done { get; private set; }

    /// <summary>How many there will be, when known.</summary>
    public long? Total { get; private set; }

    /// <summary>Whether <paramref name="error"/> is an interactive terminal.</summary>
    public static bool IsTerminal(TextWriter error) =>
        error is ITerminalWriter || (ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected);

    /// <summary>Sets how many are done (and the total, when it became known or changed); redraws at most every 100 ms.</summary>
    public void Report(long done, long? total = null)
    {
        Done = done;
        if (total is not null)
            Total = total;
        var now = _clock();
        // The live rate counts from the first report: a job already half done when followed is not twice as fast.
        _first ??= (done, now);
        if (!Live || _finished)
            return;
        var complete = Total is long all && done >= all;
        if (!complete && now - _lastDrawn < RedrawInterval)
            return;
        _lastDrawn = now;
        Draw(Line(now));
    }

    /// <summary>Writes <paramref name="line"/> (a log line) above the bar, which is drawn again under it.</summary>
    public void WriteLine(string line)
    {
        if (!Live || _drawnLength == 0 || _finished)
        {
            _error.WriteLine(line);
            return;
        }
        Clear();
        _error.WriteLine(line);
        Draw(Line(_clock()));
    }

    private void Draw(string line)
    {
        _error.Write('\r' + line + new string(' ', Math.Max(0, _drawnLength - line.Length)));
        _error.Flush();
        _drawnLength = line.Length;
    }

    private void Clear()
    {
        _error.Write('\r' + new string(' ', _drawnLength) + '\r');
        _drawnLength = 0;
    }

    /// <summary>Sets how many are done (the engine's progress hooks report so).</summary>
    void IProgress<int>.Report(int value) => Report(value);

    /// <summary>One more done (or <paramref name="count"/> more).</summary>
    public void Increment(long count = 1) => Report(Done + count);

    /// <summary>Clears the bar and writes the summary line, with <paramref name="outcome"/> after it when given.</summary>
    public void Finish(string? outcome = null)
    {
        if (_finished)
            return;
        _finished = true;
        if (Live && _drawnLength > 0)
            Clear();
        var summary = Summary(_clock());
        _error.WriteLine(outcome is null ? summary : $"{summary}: {outcome}");
    }

    /// <summary>The bar as drawn at <paramref name="elapsed"/>: count, total, percentage, rate and time left.</summary>
    public string Line(TimeSpan elapsed)
    {
        var rate = _first is var (firstDone, firstAt) && elapsed - firstAt >= MinimumSpan && Done > firstDone
            ? (Done - firstDone) / (elapsed - firstAt).TotalSeconds
            : (double?)null;
        var rateText = rate is double perSecond ? $" {RateText(perSecond)}" : "";
        if (Total is not long total || total <= 0)
            return $"{_label}: {Amount(Done)} {UnitWord}{rateText}";
        var fraction = Math.Clamp((double)Done / total, 0, 1);
        var filled = (int)Math.Round(fraction * BarWidth);
        var bar = new string('#', filled) + new string('.', BarWidth - filled);
        var eta = rate is double speed && speed > 0 ? $" ETA {Duration(TimeSpan.FromSeconds(Math.Max(0, total - Done) / speed))}" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{_label}: [{bar}] {Amount(Done)}/{Amount(total)} {UnitWord} {fraction * 100:0}%{rateText}{eta}");
    }

    /// <summary>The summary line at <paramref name="elapsed"/>: <c>eval: 200 questions in 41.2 s (4.9/s)</c>.</summary>
    public string Summary(TimeSpan elapsed)
    {
        var rate = Rate(elapsed) is double perSecond ? $" ({RateText(perSecond)})" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{_label}: {Amount(Done)} {UnitWord} in {elapsed.TotalSeconds:0.0} s{rate}");
    }

    private string RateText(double perSecond) => _bytes ? $"{Amount(perSecond)} MB/s" : $"{Amount(perSecond)}/s";

    private string UnitWord => _bytes ? "MB" : _unit;

    private static readonly TimeSpan MinimumSpan = TimeSpan.FromMilliseconds(50);

    private double? Rate(TimeSpan elapsed) => elapsed >= MinimumSpan && Done > 0 ? Done / elapsed.TotalSeconds : null;

    private string Amount(double value) => _bytes
        ? (value / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture)
        : value >= 100 || value == Math.Floor(value)
            ? Math.Round(value).ToString("0", CultureInfo.InvariantCulture)
            : value.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan left) => left.TotalHours >= 1
        ? $"{(int)left.TotalHours}:{left.Minutes:00}:{left.Seconds:00}"
        : $"{left.Minutes}:{left.Seconds:00}";
}
