using System.Collections.Concurrent;
using VqaPipeline.Hosting;

namespace VqaPipeline.Indexing;

/// <summary>
/// Whether a collection exists for a team, as its owner (ingestion) says: asked once per team and collection that exists, since
/// collections are never deleted, so a search costs no request to another service once its collection is known.
/// </summary>
internal sealed class KnownCollections(IServiceScopeFactory scopes)
{
    private readonly ConcurrentDictionary<(Guid TeamId, Guid CollectionId), bool> _known = new();

    /// <exception cref="ServiceUnavailableException">The ingestion service could not be asked.</exception>
    public async Task<bool> ExistsAsync(Guid collectionId, Caller caller, CancellationToken cancellationToken)
    {
        if (_known.ContainsKey((caller.TeamId, collectionId)))
            return true;
        await using var scope = scopes.CreateAsyncScope();
        var exists = await scope.ServiceProvider.GetRequiredService<CollectionsClient>().GetAsync(collectionId, caller, cancellationToken) is not null;
        if (exists)
            Remember(caller.TeamId, collectionId);
        return exists;
    }

    /// <summary>Takes <paramref name="collectionId"/> as existing for <paramref name="teamId"/> without asking (a benchmark's generated collections).</summary>
    internal void Remember(Guid teamId, Guid collectionId) => _known.TryAdd((teamId, collectionId), true);
}
