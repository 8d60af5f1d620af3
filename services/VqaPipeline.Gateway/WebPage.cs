using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace VqaPipeline.Gateway;

/// <summary>
/// The web page (<c>/</c> and its assets): static files embedded in the gateway's assembly from <c>wwwroot/</c>, so a
/// published gateway, a container and a test hosting it in another process's folder all serve the same page. The page
/// calls the public API from the browser with the signed-in person's key; the gateway only hands it out.
/// </summary>
public static class WebPage
{
    /// <summary>
    /// What the page may load: its own assets, thumbnails it made from API responses (blob URLs), and the API. No
    /// inline script and no other origin, so nothing injected through a file name or an answer can run.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>
    /// Serves the page's files. Static files answer only requests no endpoint matched, so every API route keeps
    /// winning over a file of the same name, and an unknown path is still a 404.
    /// </summary>
    public static WebApplication UseWebPage(this WebApplication app)
    {
        var files = new ManifestEmbeddedFileProvider(typeof(WebPage).Assembly, "wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
                headers[HeaderNames.XContentTypeOptions] = "nosniff";
                // A new gateway's page must reach browsers at once: revalidate rather than cache blindly.
                headers[HeaderNames.CacheControl] = "no-cache";
            },
        });
        return app;
    }
}
