using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace VqaPipeline.Indexing.Tests.Support;

/// <summary>
/// Stands in for the ingestion service's jobs API until it exists on this branch: a real HTTP listener on 127.0.0.1
/// that records every <c>POST /jobs</c> body and answers 202 with a new job id and its status URL, as the API's
/// contract says.
/// </summary>
public sealed class JobsApiRecorder : IAsyncDisposable
{
    private WebApplication? _app;

    public ConcurrentQueue<(Guid JobId, JsonElement Body)> Posted { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/jobs", async (HttpRequest request) =>
        {
            var body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
            var jobId = Guid.NewGuid();
            Posted.Enqueue((jobId, body));
            return Results.Accepted($"/jobs/{jobId}", new { id = jobId, statusUrl = $"/jobs/{jobId}" });
        });
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.Single());
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
    }
}
