using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace VqaPipeline.Web.Tests;

/// <summary>Getting a page signed in, and keeping what it showed.</summary>
public static class SignIn
{
    /// <summary>Opens the page and signs in through its form with <paramref name="key"/>, as a person does.</summary>
    public static async Task WithKeyAsync(IPage page, string key)
    {
        await page.GotoAsync("/");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("#nav")).ToBeVisibleAsync();
    }

    /// <summary>A full-page screenshot under the test run's output folder; returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(WebStack.ScreenshotFolder, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }
}
