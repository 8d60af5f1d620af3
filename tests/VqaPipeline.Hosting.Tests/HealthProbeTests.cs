using VqaPipeline.Hosting.Tests.Support;

namespace VqaPipeline.Hosting.Tests;

public sealed class HealthProbeTests
{
    [Fact]
    public async Task Without_the_switch_the_service_runs() =>
        Assert.Null(await HealthProbe.RunIfAskedAsync(["--urls", "http://127.0.0.1:5080"]));

    [Fact]
    public async Task A_service_that_does_not_answer_is_unhealthy_and_a_bad_argument_is_a_usage_error()
    {
        var report = new StringWriter();

        var closed = await HealthProbe.RunIfAskedAsync([HealthProbe.Switch, $"http://127.0.0.1:{TestService.ClosedPort()}/health/ready"], report);
        var missing = await HealthProbe.RunIfAskedAsync([HealthProbe.Switch], report);
        var notHttp = await HealthProbe.RunIfAskedAsync([HealthProbe.Switch, "ftp://127.0.0.1/"], report);

        Assert.Equal((1, 2, 2), (closed, missing, notHttp));
        Assert.Contains("unreachable", report.ToString());
        Assert.Contains("usage: --health-check", report.ToString());
    }

    [StackFact]
    public async Task A_ready_service_is_healthy_and_its_liveness_path_too()
    {
        await using var service = await TestService.StartAsync(
            new Dictionary<string, string?> { ["VQA_RABBITMQ_URL"] = LocalStack.Get("VQA_RABBITMQ_URL") });
        (await service.WaitUntilReadyAsync(TimeSpan.FromSeconds(30))).Dispose();

        Assert.Equal(0, await HealthProbe.RunIfAskedAsync([HealthProbe.Switch, new Uri(service.BaseAddress, ServiceDefaults.ReadyPath).ToString()]));
        Assert.Equal(1, await HealthProbe.RunIfAskedAsync([HealthProbe.Switch, new Uri(service.BaseAddress, "/no-such-path").ToString()], TextWriter.Null));
    }
}
