using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace VqaPipeline.TestSupport;

/// <summary>
/// Services hosted in this test process on free ports of 127.0.0.1, each started only once ready, stopped in the
/// reverse order of their start (so workers stop before the APIs they call).
/// </summary>
public sealed class InProcessServices(TimeSpan patience) : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];

    /// <summary>Makes <paramref name="builder"/> listen on a free port of 127.0.0.1 with <paramref name="settings"/> overlaid on the environment's.</summary>
    public static void Configure(WebApplicationBuilder builder, IEnumerable<KeyValuePair<string, string?>> settings)
    {
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
    }

    /// <summary>A builder so configured, for services composed of <c>AddX()</c> and <c>MapX()</c>.</summary>
    public static WebApplicationBuilder NewBuilder(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var builder = WebApplication.CreateBuilder();
        Configure(builder, settings);
        return builder;
    }

    /// <summary>Starts <paramref name="app"/>, waits until it is ready and returns its address; disposing stops it.</summary>
    public async Task<Uri> StartAsync(WebApplication app)
    {
        _apps.Add(app);
        await app.StartAsync();
        var address = new Uri(app.Urls.Single());
        (await ServiceReadiness.WaitAsync(address, patience)).Dispose();
        return address;
    }

    /// <summary>Stops and disposes one started <paramref name="app"/> (a service that goes down while the others run).</summary>
    public async Task StopAsync(WebApplication app)
    {
        if (!_apps.Remove(app))
            throw new InvalidOperationException("the app was not started here");
        await app.StopAsync();
        await app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        _apps.Clear();
    }
}
