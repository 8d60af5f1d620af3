using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Gateway.Tests;

/// <summary>
/// A stack with every owner of public routes behind the gateway (no preprocessing worker), shared by a test class; the
/// ingestion service records the headers of each request it gets, to see what the gateway forwards.
/// </summary>
public sealed class GatewayStack : IAsyncLifetime
{
    private ServiceStack? _stack;

    public ServiceStack Stack => _stack!;

    /// <summary>Headers of the requests the ingestion service received, by the test's request id header.</summary>
    public ConcurrentDictionary<string, IHeaderDictionary> ReceivedByIngestion { get; } = new();

    /// <summary>The header a test sets to find its request among <see cref="ReceivedByIngestion"/>.</summary>
    public const string RequestTag = "X-Test-Request";

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "auth",
            InProcess = [Contracts.V1.Services.Ingestion, Contracts.V1.Services.Inference, Contracts.V1.Services.Training,
                         Contracts.V1.Services.Indexing],
            Configure = (service, builder) =>
            {
                if (service == Contracts.V1.Services.Ingestion)
                    builder.Services.AddSingleton<IStartupFilter>(new HeaderRecorder(ReceivedByIngestion));
            },
        });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }

    /// <summary>A client of the gateway sending a new key of this stack's team with <paramref name="role"/>.</summary>
    public async Task<HttpClient> ClientWithRoleAsync(string role) =>
        ClientWithKey((await Stack.Keys.CreateKeyAsync(Stack.Team, role, expiresAt: null)).Key);

    /// <summary>A client of the gateway sending <paramref name="key"/> (none when null).</summary>
    public HttpClient ClientWithKey(string? key)
    {
        var client = new HttpClient { BaseAddress = Stack.Api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private sealed class HeaderRecorder(ConcurrentDictionary<string, IHeaderDictionary> received) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, following) =>
            {
                if (context.Request.Headers.TryGetValue(RequestTag, out var tag))
                    received[tag.ToString()] = new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value));
                await following(context);
            });
            next(app);
        };
    }
}
