namespace VqaPipeline.Hosting;

/// <summary>
/// Bounds every request, connection included. The Seq sink's own client waits 100 s per request, and a Seq that
/// accepts connections but never answers then held shutdown for ~199 s while the last batch flushed.
/// </summary>
internal sealed class TimeoutHandler(TimeSpan timeout) : DelegatingHandler(new SocketsHttpHandler { ConnectTimeout = timeout })
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        return await base.SendAsync(request, deadline.Token);
    }
}
