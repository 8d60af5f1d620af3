using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace VqaPipeline.Hosting.Tests.Support;

/// <summary>A real service host on 127.0.0.1 with a free port, wired by the service defaults.</summary>
public sealed class TestService : IAsyncDisposable
{
    private TestService(WebApplication app) => App = app;

    public WebApplication App { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Uri BaseAddress => new(App.Urls.Single());

    /// <summary>Builds and starts a service whose settings are the environment's overlaid with <paramref name="settings"/>.</summary>
    public static async Task<TestService> StartAsync(
        IDictionary<string, string?> settings,
        Action<IBusRegistrationConfigurator>? configureBus = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var builder = InProcessServices.NewBuilder(settings);
        builder.AddVqaServiceDefaults("hosting-tests", configureBus);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapVqaServiceDefaults();
        await app.StartAsync();
        return new TestService(app);
    }

    public Task<HttpResponseMessage> GetAsync(string path) => Http.GetAsync(new Uri(BaseAddress, path));

    /// <summary>Polls <c>/health/ready</c> until it answers 200 and returns that answer: see <see cref="ServiceReadiness"/>.</summary>
    public Task<HttpResponseMessage> WaitUntilReadyAsync(TimeSpan limit) => ServiceReadiness.WaitAsync(BaseAddress, limit);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    /// <summary>A local TCP port nothing listens on (free a moment ago).</summary>
    public static int ClosedPort() => LocalPorts.Free();

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}
