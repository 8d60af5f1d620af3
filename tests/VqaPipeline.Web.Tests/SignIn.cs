using System.Text.Json;
using Microsoft.Playwright;

namespace VqaPipeline.Web.Tests;

/// <summary>Getting a page signed in, and keeping what it showed.</summary>
public static class SignIn
{
    /// <summary>
    /// Starts <paramref name="page"/> signed in: the session the sign-in form stores (key, team, role) is put in the
    /// tab's session storage before the page's scripts run, as a reload after signing in finds it.
    /// </summary>
    public static async Task AsSessionAsync(IPage page, string key = "vqa_placeholder_web-tests", string role = "admin")
    {
        var session = JsonSerializer.Serialize(new { key, team = "web-tests", role, keyPrefix = "placeholder" });
        await page.Context.AddInitScriptAsync($"sessionStorage.setItem('vqa.session', {JsonSerializer.Serialize(session)});");
        await page.GotoAsync("/");
        await Assertions.Expect(page.Locator("#nav")).ToBeVisibleAsync();
    }

    /// <summary>A full-page screenshot under the test run's output folder; returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(WebStack.ScreenshotFolder, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }
}
