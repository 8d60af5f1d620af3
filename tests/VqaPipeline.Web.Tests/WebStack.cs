using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Web.Tests;

/// <summary>
/// Every service in this process behind the gateway (which serves the page), and one headless chromium — Debian's, from
/// the system path; Playwright downloads no browser — shared by the tests of a class. Each test opens a browser context
/// of its own (its own session storage), so sign-ins do not leak between tests.
/// </summary>
public sealed class WebStack : IAsyncLifetime
{
    /// <summary>Where Debian's chromium package puts the browser.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private ServiceStack? _stack;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack is not started");

    /// <summary>The gateway's address: the page and the API.</summary>
    public string BaseUrl => Stack.AddressOf(VqaPipeline.Gateway.GatewayService.Name).ToString();

    /// <summary>Where screenshots go: the test run's output folder.</summary>
    public static string ScreenshotFolder { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    public async Task InitializeAsync()
    {
        _stack = await ServiceStack.StartAsync(new StackOptions { Purpose = "web" });
        if (LocalStack.Skipped)
            return;
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: run infra/local/up.sh --infra-only (it installs Debian's chromium)");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
    }

    /// <summary>A new browser tab of its own context, at <paramref name="width"/> CSS pixels wide.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 900)
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl,
            ViewportSize = new ViewportSize { Width = width, Height = height },
            AcceptDownloads = true,
        });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    /// <summary>A new collection made through the API, for tests about something else than creating one.</summary>
    public async Task<Guid> NewCollectionAsync(string purpose)
    {
        using var created = await Stack.Api.PostAsJsonAsync("/collections", new { name = $"web-{purpose}-{Guid.NewGuid():N}" });
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
        if (_stack is not null)
            await _stack.DisposeAsync();
    }
}
