using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace VqaPipeline.Messaging.Outbox;

/// <summary>
/// Wakes the outbox dispatcher as soon as outgoing messages are committed, so they go out at once rather than at the
/// next poll. Add <see cref="Interceptor"/> to the contexts that write messages; the dispatcher waits on
/// <see cref="WaitAsync"/>. Only a hint: the dispatcher polls too, and finds rows committed by any process.
/// </summary>
public sealed class OutboxSignal
{
    private readonly SemaphoreSlim _pending = new(0, 1);

    public OutboxSignal() => Interceptor = new CommitInterceptor(this);

    /// <summary>The interceptor that calls <see cref="Notify"/> when a commit carried outgoing messages.</summary>
    public IInterceptor Interceptor { get; }

    /// <summary>Wakes the waiting dispatcher; several calls before it wakes count as one.</summary>
    public void Notify()
    {
        lock (_pending)
        {
            if (_pending.CurrentCount == 0)
                _pending.Release();
        }
    }

    /// <summary>Waits for <see cref="Notify"/> or <paramref name="timeout"/>, whichever comes first.</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _pending.WaitAsync(timeout, cancellationToken);

    /// <summary>
    /// Saved outgoing rows are only visible to the dispatcher once committed: at once without an explicit transaction,
    /// else when that transaction commits. A context that saved some inside one is remembered until then.
    /// </summary>
    private sealed class CommitInterceptor(OutboxSignal signal) : SaveChangesInterceptor, IDbTransactionInterceptor
    {
        private static readonly object Owed = new();
        private readonly ConditionalWeakTable<DbContext, object> _owing = new();
        private readonly ConditionalWeakTable<DbContext, object> _adding = new();

        public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
        {
            Remember(eventData.Context);
            return result;
        }

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(
            DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            Remember(eventData.Context);
            return ValueTask.FromResult(result);
        }

        public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
        {
            Saved(eventData.Context);
            return result;
        }

        public override ValueTask<int> SavedChangesAsync(
            SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
        {
            Saved(eventData.Context);
            return ValueTask.FromResult(result);
        }

        public override void SaveChangesFailed(DbContextErrorEventData eventData) => Forget(eventData.Context, _adding);

        public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
        {
            Forget(eventData.Context, _adding);
            return Task.CompletedTask;
        }

        public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Committed(eventData.Context);

        public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData,
            CancellationToken cancellationToken = default)
        {
            Committed(eventData.Context);
            return Task.CompletedTask;
        }

        public void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Forget(eventData.Context, _owing);

        public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData,
            CancellationToken cancellationToken = default)
        {
            Forget(eventData.Context, _owing);
            return Task.CompletedTask;
        }

        private void Remember(DbContext? context)
        {
            if (context is not null && context.ChangeTracker.Entries<EventLogEntry>().Any(IsOutgoing))
                _adding.AddOrUpdate(context, Owed);
        }

        private static bool IsOutgoing(EntityEntry<EventLogEntry> entry) =>
            entry.State == EntityState.Added && entry.Entity.Direction == MessageDirection.Published;

        private void Saved(DbContext? context)
        {
            if (context is null || !_adding.Remove(context))
                return;
            if (context.Database.CurrentTransaction is null)
                signal.Notify();
            else
                _owing.AddOrUpdate(context, Owed);
        }

        private void Committed(DbContext? context)
        {
            if (context is not null && _owing.Remove(context))
                signal.Notify();
        }

        private static void Forget(DbContext? context, ConditionalWeakTable<DbContext, object> table)
        {
            if (context is not null)
                table.Remove(context);
        }
    }
}
