using System.Net;
using VqaPipeline.Hosting.Tests.Support;

namespace VqaPipeline.Hosting.Tests;

public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_serves_prometheus_text_with_the_request_duration_histogram()
    {
        await using var service = await TestService.StartAsync(new Dictionary<string, string?>
        {
            ["VQA_RABBITMQ_URL"] = $"amqp://guest:guest@127.0.0.1:{TestService.ClosedPort()}/",
        });
        (await service.GetAsync(ServiceDefaults.LivePath)).Dispose();

        using var response = await service.GetAsync(ServiceDefaults.MetricsPath);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text);
        Assert.Contains("target_info{", text);
        Assert.Contains("service_name=\"hosting-tests\"", text);
    }
}
