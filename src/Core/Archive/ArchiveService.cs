using LuaXmpp.Logging;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Archive;

/// <summary>
/// One message archive (host, store) as mod_mam uses it: batched appends through the
/// <see cref="ArchiveWriter"/>, queries off the loop that see every earlier append, RSM totals
/// from the <see cref="ArchiveCountCache"/>, and expiry in bounded batches on a timer.
/// </summary>
public sealed class ArchiveService : IAsyncDisposable
{
    private static readonly Logger Log = Logger.For("archive");

    private readonly IArchiveStore _store;
    private readonly ArchiveOptions _options;
    private readonly TimeProvider _time;
    private readonly ArchiveCountCache _counts;
    private readonly ArchiveWriter _writer;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _queries;
    private ITimer? _expiryTimer;
    private TimeSpan? _expiresAfter;
    private int _expiring;
    private long _countQueries;

    public ArchiveService(IArchiveStore store, ArchiveOptions options, TimeProvider time)
    {
        _store = store;
        _options = options;
        _time = time;
        _counts = new ArchiveCountCache(options.CountCacheSize);
        _writer = new ArchiveWriter(store, options, _counts, time);
        _queries = new SemaphoreSlim(Math.Max(1, options.QueryConcurrency));
    }

    public ArchiveOptions Options => _options;

    public ArchiveWriter Writer => _writer;

    public ArchiveCountCache Counts => _counts;

    /// <summary>Queries that had to COUNT in the database (the rest took the cached total).</summary>
    public long CountQueries => Interlocked.Read(ref _countQueries);

    public ArchiveAppendResult Append(string user, XmlElement value, long when, string? with) =>
        _writer.Append(user, value, when, with ?? "");

    /// <summary>Queues an append; null when the writer refuses it (see <see cref="ArchiveWriter.TryAppend"/>).</summary>
    public ArchiveAppendResult? TryAppend(string user, XmlElement value, long when, string? with) =>
        _writer.TryAppend(user, value, when, with ?? "");

    /// <summary>
    /// Runs a query after the user's earlier appends are committed. The total, when asked for,
    /// comes from the cache if it holds one for this (user, filter); otherwise it is counted in
    /// the same snapshot as the page and kept. Never runs on the caller's thread.
    /// </summary>
    public async Task<ArchiveResult> QueryAsync(string user, ArchiveQuery query)
    {
        await _writer.WhenCommitted(user).ConfigureAwait(false);
        await Task.Yield(); // the store may complete synchronously (memory); stay off the caller
        await _queries.WaitAsync().ConfigureAwait(false);
        try
        {
            return await RunQueryAsync(user, query).ConfigureAwait(false);
        }
        finally
        {
            _queries.Release();
        }
    }

    private async Task<ArchiveResult> RunQueryAsync(string user, ArchiveQuery query)
    {
        // Totals of a full-text search are counted each time (a commit cannot tell which cached
        // searches it adds to), so only up to a bound: a common word's count would cost more than its page.
        if (query.FullText is not null && query.WantTotal && _options.FullTextCountLimit > 0) query = query with { TotalLimit = _options.FullTextCountLimit };
        if (!query.WantTotal || query.Ids is not null || query.FullText is not null) return await _store.FindAsync(user, query).ConfigureAwait(false);

        var filter = new ArchiveCountFilter(query.With, query.Start, query.End);
        var stamp = _counts.Snapshot(user);
        if (_counts.TryGet(user, filter, out long cached))
        {
            var page = await _store.FindAsync(user, query with { WantTotal = false }).ConfigureAwait(false);
            // A cached total goes with the page only if the archive did not change while the page
            // was read (an expiry sweep could leave "0 results of 1"); otherwise count again.
            if (_counts.Unchanged(user, stamp)) return page with { Total = cached };
            stamp = _counts.Snapshot(user);
        }
        Interlocked.Increment(ref _countQueries);
        var result = await _store.FindAsync(user, query).ConfigureAwait(false);
        if (result.Total is { } total && !result.UnknownId) _counts.Store(user, filter, total, stamp);
        return result;
    }

    /// <summary>Deletes from one user's archive (after their queued appends land); returns how many.</summary>
    public async Task<long> DeleteAsync(string user, ArchiveQuery query)
    {
        await _writer.WhenCommitted(user).ConfigureAwait(false);
        _counts.BeginChange([user]);
        try
        {
            return await _store.DeleteAsync(user, query).ConfigureAwait(false);
        }
        finally
        {
            _counts.EndChangeForget([user]);
        }
    }

    /// <summary>
    /// Deletes every item older than <paramref name="cutoff"/> (Unix seconds), at most
    /// <see cref="ArchiveOptions.ExpiryBatch"/> rows per transaction so appends and queries
    /// interleave. Returns the rows deleted and the number of batches.
    /// </summary>
    public async Task<(long Deleted, int Batches)> ExpireAsync(long cutoff)
    {
        long total = 0;
        int batches = 0;
        while (true)
        {
            _counts.BeginGlobalChange();
            long n;
            try
            {
                n = await _store.DeleteOlderThanAsync(cutoff, _options.ExpiryBatch).ConfigureAwait(false);
            }
            finally
            {
                _counts.EndGlobalChange();
            }
            total += n;
            batches++;
            if (n < _options.ExpiryBatch) return (total, batches);
            await Task.Yield();
        }
    }

    /// <summary>
    /// Expires items older than <paramref name="expiresAfter"/> every <paramref name="interval"/>
    /// (first sweep after one interval); null turns expiry off. Replaces an earlier schedule.
    /// </summary>
    public void ScheduleExpiry(TimeSpan? expiresAfter, TimeSpan interval)
    {
        lock (_gate)
        {
            _expiryTimer?.Dispose();
            _expiryTimer = null;
            _expiresAfter = expiresAfter;
            if (expiresAfter is null) return;
            if (interval <= TimeSpan.Zero) interval = TimeSpan.FromSeconds(1);
            _expiryTimer = _time.CreateTimer(_ => _ = SweepAsync(), null, interval, interval);
        }
    }

    /// <summary>One expiry sweep now (the timer's work); skipped if one is still running.</summary>
    public async Task<long> SweepAsync()
    {
        TimeSpan? after;
        lock (_gate) after = _expiresAfter;
        if (after is null || Interlocked.Exchange(ref _expiring, 1) == 1) return 0;
        try
        {
            long cutoff = _time.GetUtcNow().ToUnixTimeSeconds() - (long)after.Value.TotalSeconds;
            var (deleted, batches) = await ExpireAsync(cutoff).ConfigureAwait(false);
            if (deleted > 0) Log.Info($"Deleted {deleted} expired archived messages in {batches} batch(es)");
            return deleted;
        }
        catch (Exception ex)
        {
            Log.Error("Archive expiry failed: " + ex.Message);
            return 0;
        }
        finally
        {
            Volatile.Write(ref _expiring, 0);
        }
    }

    /// <summary>Completes once every append queued so far is committed.</summary>
    public Task FlushAsync() => _writer.FlushAsync();

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _expiryTimer?.Dispose();
            _expiryTimer = null;
        }
        await _writer.DisposeAsync().ConfigureAwait(false);
    }
}
