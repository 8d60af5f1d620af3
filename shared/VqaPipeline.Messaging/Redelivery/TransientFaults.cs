using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace VqaPipeline.Messaging.Redelivery;

/// <summary>
/// Which failures are worth waiting out: a database, object store or network that is down or overloaded for a while.
/// Everything else (a validation error, a message that cannot be read, a bug) fails the same way however long the
/// message waits, so it is parked at once instead.
/// </summary>
public static class TransientFaults
{
    /// <summary>Whether <paramref name="error"/>, or any exception inside it, is a transient fault.</summary>
    public static bool IsTransient(Exception error) => Chain(error).Any(IsTransientItself);

    private static bool IsTransientItself(Exception error) => error switch
    {
        NpgsqlException npgsql => npgsql.IsTransient,
        SocketException or HttpRequestException or TimeoutException or IOException => true,
        // A timeout of a client (HttpClient, the S3 SDK) that nobody cancelled surfaces as a cancellation.
        TaskCanceledException => true,
        _ => ServerStatus(error) is { } status && ((int)status >= 500 || status == HttpStatusCode.TooManyRequests),
    };

    /// <summary>An HTTP status a client exception carries (the S3 SDK's <c>AmazonServiceException.StatusCode</c>).</summary>
    private static HttpStatusCode? ServerStatus(Exception error) =>
        error.GetType().GetProperty("StatusCode")?.GetValue(error) is HttpStatusCode status && status != 0 ? status : null;

    private static IEnumerable<Exception> Chain(Exception error)
    {
        var pending = new Stack<Exception>([error]);
        while (pending.TryPop(out var current))
        {
            yield return current;
            if (current is AggregateException aggregate)
                foreach (var inner in aggregate.InnerExceptions)
                    pending.Push(inner);
            else if (current.InnerException is { } innerException)
                pending.Push(innerException);
        }
    }
}
