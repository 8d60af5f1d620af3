using System.Diagnostics;

namespace VqaPipeline.Messaging;

/// <summary>
/// W3C trace context across the outbox: the <c>traceparent</c> of the work that sends a message is stored with it,
/// travels as the message's <c>traceparent</c> header (and as MassTransit's own <c>MT-Activity-Id</c>, so MassTransit's
/// receive span continues the same trace), and is the parent of the work that consumes it. The spans of the outbox and
/// the inbox come from the activity source <see cref="SourceName"/>.
/// </summary>
public static class TraceContext
{
    /// <summary>The header carrying it.</summary>
    public const string Header = "traceparent";

    /// <summary>The header MassTransit reads its receive span's parent from (<c>DiagnosticHeaders.ActivityId</c>).</summary>
    public const string MassTransitHeader = "MT-Activity-Id";

    /// <summary>The activity source of the outbox's publish spans and the inbox's consume spans.</summary>
    public const string SourceName = "VqaPipeline.Messaging";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>The current activity's <c>traceparent</c>, when there is one in W3C format.</summary>
    public static string? Current =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;

    /// <summary>
    /// Starts the span <paramref name="name"/> of kind <paramref name="kind"/>: a child of the current activity when
    /// that continues the trace of <paramref name="traceParent"/> (MassTransit's consume span of a message stamped by
    /// the outbox) or there is no <paramref name="traceParent"/>, else a child of <paramref name="traceParent"/>. When
    /// nobody records spans, an unrecorded activity still carries the trace on, so what the work sends keeps its trace.
    /// Null when nothing is recorded and there is nothing to carry. The caller stops it by disposing it.
    /// </summary>
    public static Activity? Start(string name, ActivityKind kind, string? traceParent)
    {
        var current = Activity.Current;
        if (traceParent is null || !ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent)
            || current?.TraceId == parent.TraceId)
            return Source.StartActivity(name, kind);
        if (Source.StartActivity(name, kind, parent) is { } recorded)
            return recorded;
        var carrier = new Activity(name);
        carrier.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
        return carrier.Start();
    }
}
