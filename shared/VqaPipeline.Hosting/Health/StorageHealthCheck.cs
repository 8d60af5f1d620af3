using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace VqaPipeline.Hosting.Health;

/// <summary>
/// The object store is reachable when its endpoint answers HTTP at all: an unsigned request may well be refused, which
/// still proves the server is up; whether the credentials and bucket are right is the storage client's concern.
/// </summary>
public sealed class StorageHealthCheck(IOptions<StorageOptions> options, IHttpClientFactory httpClients) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var endpoint = options.Value.Endpoint;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, endpoint);
            using var response = await httpClients.CreateClient(nameof(StorageHealthCheck)).SendAsync(request, cancellationToken);
            return HealthCheckResult.Healthy($"{endpoint} answers HTTP {(int)response.StatusCode}");
        }
        catch (HttpRequestException error)
        {
            return HealthCheckResult.Unhealthy($"storage {endpoint} unreachable: {error.Message}", error);
        }
    }
}
