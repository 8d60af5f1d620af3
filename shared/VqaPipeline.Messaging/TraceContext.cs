using System.Diagnostics;

namespace VqaPipeline.Messaging;

/// <summary>
/// W3C trace context across the outbox: the <c>traceparent</c> of the work that sends a message is stored with it,
/// travels as the message's <c>traceparent</c> header, and is the parent of the work that consumes it.
/// </summary>
public static class TraceContext
{
    /// <summary>The header carrying it.</summary>
    public const string Header = "traceparent";

    /// <summary>The current activity's <c>traceparent</c>, when there is one in W3C format.</summary>
    public static string? Current =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;

    /// <summary>
    /// Starts an activity named <paramref name="name"/> whose parent is <paramref name="traceParent"/> (none when it is
    /// null or not W3C), unless one is already current; the caller stops it by disposing it.
    /// </summary>
    public static Activity? StartChild(string name, string? traceParent)
    {
        if (Activity.Current is not null || traceParent is null || !ActivityContext.TryParse(traceParent, null, out var parent))
            return null;
        var activity = new Activity(name);
        activity.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
        return activity.Start();
    }
}
