namespace VqaPipeline.Preprocessing;

/// <summary>
/// How many pixels this worker process decodes and re-encodes at once. Decoding costs memory by pixels, not by file
/// size (a 0.3 MB solid-colour PNG can decode to 89 megapixels, about 1 GB on its way to the model-ready copy), so an
/// image waits until the pixels in flight leave room for its own: a burst of huge images is decoded a few at a time
/// instead of all together. Images are let in first come, first served, so a large one is not starved by small ones;
/// one larger than the whole budget runs alone.
/// </summary>
public sealed class PixelBudget
{
    private readonly object _gate = new();
    private readonly LinkedList<Waiter> _waiting = new();
    private long _inFlight;
    private long _highWater;
    private int _holders;
    private int _mostHolders;

    /// <param name="capacity">Pixels that may be in flight at once; at least 1.</param>
    public PixelBudget(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    public long Capacity { get; }

    /// <summary>The most pixels ever in flight at once.</summary>
    public long HighWater
    {
        get { lock (_gate) return _highWater; }
    }

    /// <summary>The most images ever holding a share of the budget at once.</summary>
    public int MostHolders
    {
        get { lock (_gate) return _mostHolders; }
    }

    /// <summary>
    /// Waits until <paramref name="pixels"/> (at most the whole budget) fit beside those in flight and every earlier
    /// caller has been let in; dispose the result when the pixels are no longer held.
    /// </summary>
    public async Task<IDisposable> AcquireAsync(long pixels, CancellationToken cancellationToken)
    {
        var share = Math.Clamp(pixels, 0, Capacity);
        Waiter waiter;
        lock (_gate)
        {
            if (_waiting.Count == 0 && _inFlight + share <= Capacity)
                return Grant(share);
            waiter = new Waiter(share);
            waiter.Node = _waiting.AddLast(waiter);
        }
        await using (cancellationToken.Register(() => Abandon(waiter)))
            return await waiter.Granted.Task;
    }

    private Lease Grant(long share)
    {
        _inFlight += share;
        _holders++;
        _highWater = Math.Max(_highWater, _inFlight);
        _mostHolders = Math.Max(_mostHolders, _holders);
        return new Lease(this, share);
    }

    private void Release(long share)
    {
        lock (_gate)
        {
            _inFlight -= share;
            _holders--;
            LetInWaiters();
        }
    }

    private void Abandon(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null)
                return;
            _waiting.Remove(waiter.Node);
            waiter.Granted.TrySetCanceled();
            // The first in line leaving may let the next ones in.
            LetInWaiters();
        }
    }

    private void LetInWaiters()
    {
        while (_waiting.First is { } first && _inFlight + first.Value.Share <= Capacity)
        {
            _waiting.RemoveFirst();
            first.Value.Granted.TrySetResult(Grant(first.Value.Share));
        }
    }

    private sealed class Waiter(long share)
    {
        public long Share { get; } = share;
        public TaskCompletionSource<IDisposable> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Waiter>? Node { get; set; }
    }

    private sealed class Lease(PixelBudget budget, long share) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                budget.Release(share);
        }
    }
}
