using System.Net;

namespace VqaPipeline.TestSupport;

/// <summary>
/// Waiting until a started service answers 200 on its readiness endpoint: its bus connects and binds its queues in
/// the background after start, and a message published before its queue is bound is dropped by RabbitMQ.
/// </summary>
public static class ServiceReadiness
{
    /// <summary>VqaPipeline.Hosting's <c>ServiceDefaults.ReadyPath</c>; TestSupport references no service project.</summary>
    public const string ReadyPath = "/health/ready";

    /// <summary>
    /// Polls <c>/health/ready</c> of <paramref name="baseAddress"/> until it answers 200 and returns that answer.
    /// With <paramref name="processOutput"/> the service is a process of its own that may not listen yet, so refused
    /// connections are retried too, and the timeout's message carries the process's output.
    /// </summary>
    public static async Task<HttpResponseMessage> WaitAsync(Uri baseAddress, TimeSpan patience, Func<string>? processOutput = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var ready = new Uri(baseAddress, ReadyPath);
        var answer = await Poll.UntilAsync(() => AskAsync(http, ready, mayNotListenYet: processOutput is not null),
            answer => answer.Ready is not null, patience,
            answer => $"{ready} still {answer.State}{(processOutput is null ? "" : $"; output:\n{processOutput()}")}");
        return answer.Ready!;
    }

    /// <summary>The 200 answer (its body read, so it outlives the client), or what the service said instead.</summary>
    private sealed record Answer(HttpResponseMessage? Ready, string State);

    private static async Task<Answer> AskAsync(HttpClient http, Uri ready, bool mayNotListenYet)
    {
        try
        {
            var response = await http.GetAsync(ready);
            if (response.StatusCode == HttpStatusCode.OK)
                return new Answer(response, "ready");
            using (response)
                return new Answer(null, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        catch (HttpRequestException exception) when (mayNotListenYet)
        {
            return new Answer(null, $"not listening ({exception.Message})");
        }
    }
}
