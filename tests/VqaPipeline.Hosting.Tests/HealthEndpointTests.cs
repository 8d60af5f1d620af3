using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using VqaPipeline.Hosting.Health;
using VqaPipeline.Hosting.Tests.Support;

namespace VqaPipeline.Hosting.Tests;

public sealed class HealthEndpointTests
{
    private static Dictionary<string, string?> ClosedBroker() =>
        new() { ["VQA_RABBITMQ_URL"] = $"amqp://guest:guest@127.0.0.1:{TestService.ClosedPort()}/" };

    [Fact]
    public void The_test_hosts_wait_on_the_services_own_ready_path() =>
        Assert.Equal(ServiceDefaults.ReadyPath, ServiceReadiness.ReadyPath);

    [Fact]
    public async Task Live_answers_200_even_when_the_broker_is_down()
    {
        await using var service = await TestService.StartAsync(ClosedBroker());

        using var response = await service.GetAsync(ServiceDefaults.LivePath);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Ready_answers_503_quickly_when_the_broker_port_is_closed()
    {
        await using var service = await TestService.StartAsync(ClosedBroker());

        var watch = Stopwatch.StartNew();
        using var response = await service.GetAsync(ServiceDefaults.ReadyPath);
        watch.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"readiness took {watch.Elapsed}");
        var checks = await ChecksOf(response);
        Assert.Equal("Unhealthy", checks[VqaHealthChecks.Broker]);
    }

    [StackFact]
    public async Task Ready_answers_200_with_broker_database_and_storage_of_the_local_stack()
    {
        await using var service = await TestService.StartAsync(new Dictionary<string, string?>
        {
            ["VQA_RABBITMQ_URL"] = LocalStack.Get("VQA_RABBITMQ_URL"),
            ["VQA_POSTGRES"] = LocalStack.Get("VQA_POSTGRES"),
            ["VQA_S3_ENDPOINT"] = LocalStack.Get("VQA_S3_ENDPOINT"),
        });

        // The bus connects in the background after start; readiness waits for it too.
        using var response = await service.WaitUntilReadyAsync(TimeSpan.FromSeconds(20));

        var checks = await ChecksOf(response);
        Assert.Equal("Healthy", checks[VqaHealthChecks.Broker]);
        Assert.Equal("Healthy", checks[VqaHealthChecks.Database]);
        Assert.Equal("Healthy", checks[VqaHealthChecks.Storage]);
    }

    [Fact]
    public async Task A_check_registered_under_its_name_replaces_the_default()
    {
        var settings = ClosedBroker();
        settings["VQA_POSTGRES"] = $"Host=127.0.0.1;Port={TestService.ClosedPort()};Database=x;Username=x;Password=x";
        await using var service = await TestService.StartAsync(settings, configureServices: services =>
            services.AddKeyedSingleton<IHealthCheck>(VqaHealthChecks.Database, new FixedCheck(HealthCheckResult.Healthy("stand-in"))));

        using var response = await service.GetAsync(ServiceDefaults.ReadyPath);

        var checks = await ChecksOf(response);
        Assert.Equal("Healthy", checks[VqaHealthChecks.Database]);
        Assert.Equal("Unhealthy", checks[VqaHealthChecks.Broker]);
    }

    private static async Task<Dictionary<string, string>> ChecksOf(HttpResponseMessage response)
    {
        using var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return report.RootElement.GetProperty("checks").EnumerateObject()
            .ToDictionary(check => check.Name, check => check.Value.GetProperty("status").GetString()!);
    }

    private sealed class FixedCheck(HealthCheckResult result) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(result);
    }
}
