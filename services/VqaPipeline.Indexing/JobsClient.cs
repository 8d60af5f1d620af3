using System.Net.Http.Json;
using System.Text.Json;
using VqaPipeline.Hosting;

namespace VqaPipeline.Indexing;

/// <summary>
/// The inference service's jobs API (<c>Services:Inference</c>): starts question jobs for searches. The status URL a
/// search answers with is the public one, on the gateway (<c>VQA_API_URL</c>).
/// </summary>
internal sealed class JobsClient(HttpClient http, ServiceAddresses addresses, IConfiguration configuration)
{
    public const string ClientName = "jobs-api";

    /// <summary>A started job, or the reason there is none and whether it is the request's fault.</summary>
    public sealed record Outcome(Guid JobId, string StatusUrl, string? Refusal, bool Unavailable);

    /// <summary>
    /// Submits the job as <paramref name="caller"/> (their team's headers and the gateway's secret): the job is the
    /// caller's team's, and the collection is looked up as the caller sees it.
    /// </summary>
    public async Task<Outcome> StartAsync(Caller caller, Guid collectionId, string question, string? model, int topK, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object> { ["collectionId"] = collectionId, ["questions"] = new[] { question }, ["topK"] = topK };
        if (!string.IsNullOrEmpty(model))
            body["model"] = model;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "jobs") { Content = JsonContent.Create(body, options: JsonSerializerOptions.Web) };
            GatewayHeaders.Forward(request, caller, configuration[GatewayHeaders.InternalSecretSetting]);
            using var response = await http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if ((int)response.StatusCode is >= 400 and < 500)
                return Refused($"the jobs API refused the question job ({(int)response.StatusCode}): {ErrorOf(text)}");
            if (!response.IsSuccessStatusCode)
                return Unreachable($"the jobs API answered {(int)response.StatusCode}: {ErrorOf(text)}");
            var started = JsonSerializer.Deserialize<StartedJob>(text, JsonSerializerOptions.Web);
            if (started is not { Id: var id } || id == Guid.Empty || string.IsNullOrEmpty(started.StatusUrl))
                return Unreachable($"the jobs API answered without a job id and status URL: {text}");
            // A relative status URL is relative to the jobs API; callers reach it through the public base URL.
            var statusUrl = new Uri(addresses.Api, started.StatusUrl).ToString();
            return new Outcome(id, statusUrl, null, false);
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException
                                          || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return Unreachable($"the jobs API at {http.BaseAddress} is unreachable: {exception.Message}");
        }
    }

    private static Outcome Refused(string reason) => new(Guid.Empty, "", reason, false);

    private static Outcome Unreachable(string reason) => new(Guid.Empty, "", reason, true);

    private static string ErrorOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            foreach (var name in new[] { "error", "detail", "title" })
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                    return value.GetString()!;
        }
        catch (JsonException)
        {
        }
        return body.Length > 300 ? body[..300] : body;
    }

    private sealed record StartedJob(Guid Id, string? StatusUrl);
}
