using System.Collections.Concurrent;
using VqaPipeline.Hosting;

namespace VqaPipeline.Indexing;

/// <summary>
/// Whether a collection exists, as its owner (ingestion) says: asked once per collection that exists, since
/// collections are never deleted, so a search costs no request to another service once its collection is known.
/// </summary>
internal sealed class KnownCollections(IServiceScopeFactory scopes)
{
    private readonly ConcurrentDictionary<Guid, bool> _known = new();

    /// <exception cref="ServiceUnavailableException">The ingestion service could not be asked.</exception>
    public async Task<bool> ExistsAsync(Guid collectionId, CancellationToken cancellationToken)
    {
        if (_known.ContainsKey(collectionId))
            return true;
        await using var scope = scopes.CreateAsyncScope();
        var exists = await scope.ServiceProvider.GetRequiredService<CollectionsClient>().GetAsync(collectionId, cancellationToken) is not null;
        if (exists)
            Remember(collectionId);
        return exists;
    }

    /// <summary>Takes <paramref name="collectionId"/> as existing without asking (a benchmark's generated collections).</summary>
    internal void Remember(Guid collectionId) => _known.TryAdd(collectionId, true);
}
