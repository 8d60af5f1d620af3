using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace VqaPipeline.Hosting;

/// <summary>A collection as its owner, the ingestion service, describes it (<c>GET /collections/{id}</c>).</summary>
/// <param name="Images">Images in it, whatever their state.</param>
/// <param name="Labels">Human labels on its images.</param>
public sealed record CollectionSummary(Guid Id, string Name, int Images, int Labels);

/// <summary>
/// Asks the ingestion service about a collection (<c>Services:Ingestion</c>): the services that refer to collections
/// own none of their rows. It asks as the caller (its team's headers and the gateway's secret), so another team's
/// collection is unknown here exactly as it is to the caller.
/// </summary>
public sealed class CollectionsClient(HttpClient http, IConfiguration configuration)
{
    public const string ClientName = "ingestion-collections";

    /// <summary>
    /// The collection, or <c>null</c> when the ingestion service says it does not exist for <paramref name="caller"/>'s
    /// team (unknown, or another team's).
    /// </summary>
    /// <exception cref="ServiceUnavailableException">The ingestion service could not be asked.</exception>
    public async Task<CollectionSummary?> GetAsync(Guid collectionId, Caller caller, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"collections/{collectionId}");
            GatewayHeaders.Forward(request, caller, configuration[GatewayHeaders.InternalSecretSetting]);
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound)
                return null;
            if (!response.IsSuccessStatusCode)
                throw new ServiceUnavailableException($"the ingestion service answered {(int)response.StatusCode} about collection {collectionId}");
            return await response.Content.ReadFromJsonAsync<CollectionSummary>(JsonSerializerOptions.Web, cancellationToken)
                ?? throw new ServiceUnavailableException($"the ingestion service answered nothing about collection {collectionId}");
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException
                                          || (exception is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new ServiceUnavailableException($"the ingestion service at {http.BaseAddress} is unreachable: {exception.Message}");
        }
    }

    /// <summary>Registers the client on the ingestion service's address.</summary>
    public static IServiceCollection Register(IServiceCollection services, ServiceAddresses addresses)
    {
        services.AddHttpClient<CollectionsClient>(ClientName, client =>
        {
            client.BaseAddress = addresses.Ingestion;
            client.Timeout = TimeSpan.FromSeconds(30);
        });
        return services;
    }
}

/// <summary>Another service this one needs is down or answered nonsense; an API answers 503 with the message.</summary>
public sealed class ServiceUnavailableException(string message) : Exception(message);
