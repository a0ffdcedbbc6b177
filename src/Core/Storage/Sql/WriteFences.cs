namespace LuaXmpp.Storage.Sql;

/// <summary>
/// Which earlier write a read must wait for. Writes run one at a time in the order they were
/// issued, so once a write is done every write issued before it is committed too: a read waits
/// for one task. A read of one store waits for the last write issued to that store or to
/// <see cref="StoreScope.Every"/>, whichever came later; writes to other stores do not hold it
/// up. Read-your-writes per store is what Prosody's synchronous storage gives its modules (set,
/// then get; offline messages stored just before the user comes online); waiting for unrelated
/// writes is not: the SASL account read of a reconnecting client waited for the archive batch of
/// a mass disconnect in flight (tens of ms, docs/PERFORMANCE.md). A read of
/// <see cref="StoreScope.Every"/> waits for every write issued before it.
/// </summary>
internal sealed class WriteFences
{
    /// <summary>Entries kept before finished ones are dropped: one per store written recently.</summary>
    private const int PruneAbove = 256;

    private readonly object _gate = new();
    private readonly Dictionary<StoreScope, Issued> _lastPerStore = new();
    private Issued _lastEvery = Issued.None;
    private Issued _last = Issued.None;
    private long _sequence;
    private int _pruneAt = PruneAbove;

    private readonly record struct Issued(long Sequence, Task Done)
    {
        public static readonly Issued None = new(0, Task.CompletedTask);
    }

    /// <summary>
    /// Queues a write: <paramref name="enqueue"/> puts it on the writer's queue (false: refused,
    /// nothing recorded). Under the fences' lock, so the order recorded is the queue's order.
    /// </summary>
    public bool TryIssue(StoreScope scope, Task done, Func<bool> enqueue)
    {
        lock (_gate)
        {
            if (!enqueue()) return false;
            var issued = new Issued(++_sequence, done);
            _last = issued;
            if (scope == StoreScope.Every) _lastEvery = issued;
            else
            {
                _lastPerStore[scope] = issued;
                if (_lastPerStore.Count > _pruneAt) Prune();
            }
            return true;
        }
    }

    /// <summary>The write a read of <paramref name="scope"/> issued now must wait for (done when nothing is pending).</summary>
    public Task Before(StoreScope scope)
    {
        lock (_gate)
        {
            if (scope == StoreScope.Every) return _last.Done;
            return _lastPerStore.TryGetValue(scope, out var last) && last.Sequence > _lastEvery.Sequence ? last.Done : _lastEvery.Done;
        }
    }

    /// <summary>Drops stores whose last write is done (store names can be many: e.g. one per PEP node).</summary>
    private void Prune()
    {
        foreach (var (scope, issued) in _lastPerStore)
        {
            if (issued.Done.IsCompleted) _lastPerStore.Remove(scope);
        }
        _pruneAt = Math.Max(PruneAbove, 2 * _lastPerStore.Count);
    }
}
