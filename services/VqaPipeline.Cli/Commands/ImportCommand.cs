using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// <c>vqa import</c>: asks the API (<c>VQA_API_URL</c>, the gateway) to register the images of a bucket prefix into a
/// collection, then follows the import, one line per change of its progress, to its end.
/// </summary>
internal static class ImportCommand
{
    private const string DefaultApiUrl = "http://127.0.0.1:5080";

    public static Command Create(CliConsole console)
    {
        var collection = new Option<string>("--collection") { Description = "The collection (id) the images join", Required = true };
        var bucket = new Option<string>("--bucket") { Description = "The bucket holding the images", Required = true };
        var prefix = new Option<string?>("--prefix") { Description = "Only keys starting with this (default: the whole bucket)" };
        var apiUrl = new Option<string?>("--api-url") { Description = $"The API's base URL (default: $VQA_API_URL, else {DefaultApiUrl})" };
        var apiKey = new Option<string?>("--api-key") { Description = "The API key to send (default: $VQA_API_KEY)" };
        var interval = new Option<double>("--interval")
        {
            Description = "Seconds between progress checks", DefaultValueFactory = _ => 2,
        };
        var json = CommonOptions.Json();

        var command = new Command("import",
            "Register the images already in a bucket into a collection, and follow the import to its end (setting: VQA_API_URL).\n\n" +
            "Examples:\n  vqa import --collection 0b9c… --bucket vqa-images --prefix catalog/2026/\n" +
            "  vqa import --collection 0b9c… --bucket partner-photos --json")
        {
            collection, bucket, prefix, apiUrl, apiKey, interval, json,
        };

        console.SetAction(command, async (parse, cancellationToken) =>
        {
            if (!Guid.TryParse(parse.GetValue(collection), out var collectionId))
                throw new CliUsageException($"--collection '{parse.GetValue(collection)}' is not a collection id (a GUID)");
            var seconds = parse.GetValue(interval);
            if (!(seconds is > 0 and <= 3600))
                throw new CliUsageException($"--interval {seconds} is not between 0 and 3600 seconds");
            using var http = new HttpClient { BaseAddress = ApiUrl(parse.GetValue(apiUrl)), Timeout = TimeSpan.FromMinutes(2) };
            if ((parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("VQA_API_KEY")) is { Length: > 0 } key)
                http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);

            var import = await SendAsync(http, client => client.PostAsJsonAsync(
                $"collections/{collectionId}/imports", new { bucket = parse.GetValue(bucket), prefix = parse.GetValue(prefix) },
                cancellationToken));
            console.Log($"import {import.ImportId}: s3://{import.Bucket}/{import.Prefix} into collection {collectionId}");
            var shown = "";
            while (true)
            {
                var line = $"listed {import.Listed} · registered {import.Registered} · duplicates {import.Duplicates} · skipped {import.Skipped}";
                if (line != shown && !parse.GetValue(json))
                    console.Log(shown = line);
                if (import.State != "running")
                    break;
                await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken);
                import = await SendAsync(http, client => client.GetAsync($"collections/{collectionId}/imports/{import.ImportId}", cancellationToken));
            }

            if (parse.GetValue(json))
                console.WriteJson(import);
            else
            {
                console.Out.WriteLine($"import {import.ImportId} {import.State}: {import.Listed} objects listed, {import.Registered} registered, " +
                                      $"{import.Duplicates} duplicates, {import.Skipped} skipped");
                foreach (var skipped in import.SkippedObjects)
                    console.Out.WriteLine($"  skipped {skipped.Key}: {skipped.Reason}");
            }
            if (import.State == "failed")
                throw new CliUsageException($"import {import.ImportId} failed: {import.Reason}");
            return 0;
        });
        return command;
    }

    private static Uri ApiUrl(string? option)
    {
        var url = option ?? (Environment.GetEnvironmentVariable("VQA_API_URL") is { Length: > 0 } value ? value : DefaultApiUrl);
        return Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new CliUsageException($"API URL '{url}' is not an http(s) URL");
    }

    /// <summary>The import the API answered with; its error (unknown collection, bad bucket) or no answer is an input error.</summary>
    private static async Task<ImportProgress> SendAsync(HttpClient http, Func<HttpClient, Task<HttpResponseMessage>> send)
    {
        HttpResponseMessage response;
        try
        {
            response = await send(http);
        }
        catch (HttpRequestException unreachable)
        {
            throw new CliUsageException($"the API at {http.BaseAddress} does not answer: {unreachable.Message}");
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                var error = TryRead<ApiError>(body)?.Error ?? body;
                throw new CliUsageException($"{(int)response.StatusCode} {response.ReasonPhrase}: {error}");
            }
            return TryRead<ImportProgress>(body) ?? throw new CliUsageException($"the API answered something that is not an import: {body}");
        }
    }

    private static T? TryRead<T>(string body) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(body, JsonSerializerOptions.Web);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record ApiError(string? Error);

    private sealed record SkippedObject(string Key, string Reason);

    /// <summary>The API's import (the fields this command shows).</summary>
    private sealed record ImportProgress(
        Guid ImportId, string Bucket, string Prefix, string State, string? Reason, long Listed, long Registered,
        long Duplicates, long Skipped, IReadOnlyList<SkippedObject> SkippedObjects);
}
