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
        // No status: the request never got an answer (refused, reset, name not resolved).
        HttpRequestException http => http.StatusCode is not { } status || IsTransientStatus(status),
        SocketException or TimeoutException or EndOfStreamException => true,
        // A connection's stream that broke; its subclasses (a file not found, a path too long) are no outage.
        IOException io => io.GetType() == typeof(IOException),
        // A timeout of a client (HttpClient, the S3 SDK) that nobody cancelled surfaces as a cancellation.
        TaskCanceledException => true,
        _ => ServerStatus(error) is { } status && IsTransientStatus(status),
    };

    private static bool IsTransientStatus(HttpStatusCode status) =>
        (int)status >= 500 || status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;

    /// <summary>
    /// An HTTP status a client exception carries: on itself (<c>HttpRequestException</c>, the AWS SDK's
    /// <c>AmazonServiceException.StatusCode</c>) or on the response it holds (Minio's <c>MinioException.ServerResponse</c>).
    /// </summary>
    private static HttpStatusCode? ServerStatus(Exception error)
    {
        var response = error.GetType().GetProperty("ServerResponse")?.GetValue(error);
        return StatusOf(error) ?? (response is null ? null : StatusOf(response));
    }

    private static HttpStatusCode? StatusOf(object holder) =>
        holder.GetType().GetProperty("StatusCode")?.GetValue(holder) is HttpStatusCode status && status != 0 ? status : null;

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
