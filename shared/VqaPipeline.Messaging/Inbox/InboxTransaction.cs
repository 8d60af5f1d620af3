namespace VqaPipeline.Messaging.Inbox;

/// <summary>
/// The transaction the inbox filter runs a consumer in (one per consume scope). A consumer writes through the
/// service's context and commits nothing itself; work that must see the commit — counting rows other consumers wrote
/// at the same time, say — goes in <see cref="AfterCommit"/>.
/// </summary>
public sealed class InboxTransaction
{
    private readonly List<Func<CancellationToken, Task>> _afterCommit = [];

    /// <summary>Runs <paramref name="work"/> once the consumer's changes are committed (not when they roll back).</summary>
    public void AfterCommit(Func<CancellationToken, Task> work) => _afterCommit.Add(work);

    internal void Reset() => _afterCommit.Clear();

    internal async Task CommittedAsync(CancellationToken cancellationToken)
    {
        foreach (var work in _afterCommit)
            await work(cancellationToken);
        _afterCommit.Clear();
    }
}
