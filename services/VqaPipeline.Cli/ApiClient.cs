using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace VqaPipeline.Cli;

/// <summary>
/// The options of every command that calls the API: <c>--api-url</c> (default <c>$VQA_API_URL</c>, else the local
/// gateway) and <c>--api-key</c> (default <c>$VQA_API_KEY</c>).
/// </summary>
internal sealed class ApiOptions
{
    public Option<string?> Url { get; } = new("--api-url")
    {
        Description = $"The API's base URL, the gateway (default: $VQA_API_URL, else {ApiClient.DefaultUrl})",
    };

    public Option<string?> Key { get; } = new("--api-key")
    {
        Description = "The API key, sent as 'Authorization: Bearer <key>' (default: $VQA_API_KEY; infra/local/up.sh prints one)",
    };

    /// <summary>Adds both options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Url);
        command.Options.Add(Key);
    }

    /// <summary>A client of the API the command line names.</summary>
    public ApiClient Connect(ParseResult parse) => ApiClient.Create(parse.GetValue(Url), parse.GetValue(Key));
}

/// <summary>
/// A client of the VqaPipeline API for the commands that call the services. Every failure becomes one line for the
/// user (a <see cref="CliUsageException"/>): the API's own sentence (problem details' <c>detail</c>, else the older
/// <c>error</c>, else <c>title</c>), a refused key, or an API that cannot be reached.
/// </summary>
internal sealed class ApiClient : IDisposable
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    private readonly HttpClient _http;

    private ApiClient(HttpClient http) => _http = http;

    /// <summary>The API's base URL.</summary>
    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>
    /// A client of <paramref name="url"/> (else <c>$VQA_API_URL</c>, else <see cref="DefaultUrl"/>) sending
    /// <paramref name="key"/> (else <c>$VQA_API_KEY</c>, else nothing).
    /// </summary>
    public static ApiClient Create(string? url, string? key)
    {
        url ??= Environment.GetEnvironmentVariable("VQA_API_URL") is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultUrl;
        if (!Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
            throw new CliUsageException($"API URL '{url}' is not an http(s) URL");
        // Streams (answers exports) may run long; each call is bounded by its caller's cancellation instead.
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        key ??= Environment.GetEnvironmentVariable("VQA_API_KEY");
        if (!string.IsNullOrWhiteSpace(key))
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Trim());
        return new ApiClient(http);
    }

    /// <summary>GETs <paramref name="path"/> and reads its JSON answer.</summary>
    public async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);
        return await ReadAsync<T>(response, cancellationToken);
    }

    /// <summary>POSTs <paramref name="body"/> as JSON to <paramref name="path"/> and reads its JSON answer.</summary>
    public async Task<T> PostAsync<T>(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) }, cancellationToken);
        return await ReadAsync<T>(response, cancellationToken);
    }

    /// <summary>
    /// Sends <paramref name="request"/> and returns the successful response as soon as its headers are in (the caller
    /// reads or streams the body and disposes it); an error response or no answer throws the line that says why.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        using (request)
        {
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException unreachable)
            {
                throw new CliUsageException($"cannot reach the API at {BaseAddress}: {unreachable.Message}");
            }
        }
        if (response.IsSuccessStatusCode)
            return response;
        using (response)
            throw new CliUsageException(await ErrorLineAsync(response, cancellationToken));
    }

    /// <summary>What a failed response says, in one line.</summary>
    internal static async Task<string> ErrorLineAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.Unauthorized)
            return "the API refused the key: set VQA_API_KEY (infra/local/up.sh prints one)";
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var problem = TryRead<Problem>(body);
        var sentence = problem?.Detail ?? problem?.Error ?? problem?.Title;
        if (string.IsNullOrWhiteSpace(sentence))
            sentence = string.IsNullOrWhiteSpace(body) || body.Length > 300
                ? $"the API answered {(int)response.StatusCode} {response.ReasonPhrase}"
                : body;
        return string.Join(' ', sentence.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return TryRead<T>(body) is { } value
            ? value
            : throw new CliUsageException($"the API answered something this command does not understand: {Shorten(body)}");
    }

    private static T? TryRead<T>(string body)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(body, JsonSerializerOptions.Web);
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";

    public void Dispose() => _http.Dispose();

    /// <summary>RFC 7807 problem details, as every API writes its errors (and <c>error</c>, as they did before).</summary>
    private sealed record Problem(string? Title, string? Detail, string? Error);
}
