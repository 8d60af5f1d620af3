using System.Collections.Concurrent;
using System.Globalization;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;
using VqaPipeline.Hosting;

namespace VqaPipeline.Ingestion.Tests.Support;

/// <summary>
/// Every log line the hosts of this test process write, rendered as the console writes them
/// (<see cref="Telemetry.ConsoleTemplate"/>). A host takes it through its settings (<see cref="Settings"/>: Serilog's
/// configuration names the sink), so it is the service's own logging that is captured, not a copy.
/// </summary>
public sealed class CapturedLog : ILogEventSink
{
    private static readonly MessageTemplateTextFormatter Formatter = new(Telemetry.ConsoleTemplate, CultureInfo.InvariantCulture);

    public static CapturedLog Instance { get; } = new();

    /// <summary>The settings that make a host write to <see cref="Instance"/> too.</summary>
    public static IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Serilog:Using:0"] = typeof(CapturedLog).Assembly.GetName().Name,
        ["Serilog:WriteTo:0:Name"] = nameof(CapturedLogSinks.CapturedLog),
    };

    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>The rendered lines so far.</summary>
    public IReadOnlyList<string> Lines => _lines.ToList();

    public void Emit(LogEvent logEvent)
    {
        using var writer = new StringWriter();
        Formatter.Format(logEvent, writer);
        _lines.Enqueue(writer.ToString());
    }
}

/// <summary>The name Serilog's configuration finds the captured log by.</summary>
public static class CapturedLogSinks
{
    public static LoggerConfiguration CapturedLog(this LoggerSinkConfiguration sinks) => sinks.Sink(Support.CapturedLog.Instance);
}
