using System.Threading.Channels;
using LuaXmpp.Logging;
using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Archive;

/// <summary>
/// The single writer of one archive: appends are queued without waiting and committed by one
/// background task, everything queued at that moment in one transaction (group commit). Under
/// load batches grow by themselves; when idle each append is committed at once, so nothing waits
/// for a timer. The caller gets the item's id immediately (a UUID, as Prosody's ids are) and a
/// task for its commit. With <see cref="ArchiveOptions.CommitInterval"/> set, commits start at
/// most once per interval and take everything queued by then.
/// </summary>
/// <remarks>
/// Batches are committed one after another in queue order, so the committed items are always a
/// prefix of the appended ones: a process kill loses a tail (what was queued or in the
/// transaction being committed), never an item between two committed ones.
/// </remarks>
public sealed class ArchiveWriter : IAsyncDisposable
{
    private static readonly Logger Log = Logger.For("archive");

    private readonly IArchiveStore _store;
    private readonly ArchiveOptions _options;
    private readonly ArchiveCountCache _counts;
    private readonly TimeProvider _time;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly object _gate = new();
    private readonly Dictionary<string, Task> _lastPerUser = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private long _committed;
    private long _batches;
    private long _commitMicroseconds;
    private bool _failing; // only the writer loop touches it

    private sealed record Pending(ArchiveAppend Item, TaskCompletionSource Done);

    public ArchiveWriter(IArchiveStore store, ArchiveOptions options, ArchiveCountCache counts, TimeProvider? time = null)
    {
        _store = store;
        _options = options;
        _counts = counts;
        _time = time ?? TimeProvider.System;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Items committed so far.</summary>
    public long Committed => Interlocked.Read(ref _committed);

    /// <summary>Transactions committed so far (Committed / Batches is the mean batch size).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Time spent in committed batches' writes, in seconds (divided by Batches: the mean commit latency).</summary>
    public double CommitSeconds => Interlocked.Read(ref _commitMicroseconds) / 1e6;

    /// <summary>Messages per committed transaction (metrics: luaxmpp_archive_batch_size).</summary>
    public Metrics.Histogram BatchSizes { get; } = new(1, 2, 5, 10, 20, 50, 100, 200, 512, 1000);

    /// <summary>Seconds per committed transaction (metrics: luaxmpp_archive_commit_latency_seconds).</summary>
    public Metrics.Histogram CommitLatency { get; } = new(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5);

    /// <summary>Queues an item; never blocks and never touches the database on the caller's thread.</summary>
    public ArchiveAppendResult Append(string user, XmlElement value, long when, string with)
    {
        var id = Guid.CreateVersion7().ToString();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            // Under the gate, so the per-user "last" order is the queue order.
            if (!_queue.Writer.TryWrite(new Pending(new ArchiveAppend(user, id, value, when, with), done)))
                throw new ObjectDisposedException(nameof(ArchiveWriter));
            _lastPerUser[user] = done.Task;
        }
        return new ArchiveAppendResult(id, done.Task);
    }

    /// <summary>
    /// Completes once every append queued so far for the user is committed (or failed): a
    /// query awaits it first, so it sees what was archived before it (read-your-writes).
    /// </summary>
    public Task WhenCommitted(string user)
    {
        lock (_gate)
        {
            return _lastPerUser.TryGetValue(user, out var last) ? IgnoreFault(last) : Task.CompletedTask;
        }
    }

    /// <summary>Completes once everything queued so far is committed.</summary>
    public Task FlushAsync()
    {
        lock (_gate)
        {
            return Task.WhenAll(_lastPerUser.Values.Select(IgnoreFault).ToArray());
        }
    }

    private static Task IgnoreFault(Task t) => t.ContinueWith(static _ => { }, TaskScheduler.Default);

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        int maxBatch = Math.Max(1, _options.MaxBatch);
        var batch = new List<Pending>(Math.Min(maxBatch, 4096));
        var interval = _options.CommitInterval;
        long? lastStart = null;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (interval > TimeSpan.Zero && lastStart is { } last)
            {
                var wait = interval - _time.GetElapsedTime(last);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, _time).ConfigureAwait(false);
            }
            // Noted before the batch is taken: unless the batch is full (MaxBatch), everything
            // appended before this moment is in it or an earlier one, which is what the commit
            // log line lets one check after a crash.
            var taken = _time.GetUtcNow();
            long start = _time.GetTimestamp();
            batch.Clear();
            while (batch.Count < maxBatch && reader.TryRead(out var p)) batch.Add(p);
            if (batch.Count == 0) continue;
            lastStart = start;
            try
            {
                await CommitAsync(batch, taken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // A bug in the bookkeeping must not end the loop: the next batch gets its chance.
                foreach (var p in batch) p.Done.TrySetException(ex);
                Forget(batch);
            }
        }
    }

    private async Task CommitAsync(List<Pending> batch, DateTimeOffset taken)
    {
        var items = batch.Select(p => p.Item).ToList();
        var users = items.Select(i => i.User).Distinct().ToList();
        long started = _time.GetTimestamp();
        _counts.BeginChange(users);
        try
        {
            await WriteWithRetryAsync(items).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Everyone waiting is answered first: nothing on this path may keep the writer (or a
            // MAM query waiting for a user's last append) from going on.
            _counts.EndChangeForget(users);
            foreach (var p in batch) p.Done.TrySetException(ex);
            Forget(batch);
            // Once per streak of failures: during an outage every batch fails the same way.
            if (!_failing) Log.Error($"Could not archive {items.Count} message(s): {ex.Message}; further failed batches are logged at debug level until one commits");
            else Log.Debug($"Could not archive {items.Count} message(s): {ex.Message}");
            _failing = true;
            return;
        }
        _counts.EndAppend(items);
        if (_failing)
        {
            _failing = false;
            Log.Info("Archiving works again");
        }
        // A batched-mode kill loses what was appended after the last finished commit's batch was
        // taken: logged (time of taking, length) so that can be checked afterwards.
        if (Log.IsEnabled(LogLevel.Debug))
        {
            Log.Debug($"Committed {items.Count} archived message(s) taken at {taken.UtcDateTime:HH:mm:ss.fff} "
                + $"in {_time.GetElapsedTime(started).TotalMilliseconds:F1} ms");
        }
        var elapsed = _time.GetElapsedTime(started);
        Interlocked.Add(ref _commitMicroseconds, (long)elapsed.TotalMicroseconds);
        BatchSizes.Observe(items.Count);
        CommitLatency.Observe(elapsed.TotalSeconds);
        Interlocked.Add(ref _committed, items.Count);
        Interlocked.Increment(ref _batches);
        foreach (var p in batch) p.Done.TrySetResult();
        Forget(batch);
    }

    /// <summary>
    /// Writes one batch. In batched mode a database server that cannot be reached (restart,
    /// failover) does not lose the batch: it is retried, in order, with the queue waiting behind
    /// it, for up to <see cref="ArchiveOptions.OutageRetry"/>; the storage driver logs the outage
    /// once. Strict mode fails at once, so mod_mam bounces the message instead of holding it.
    /// </summary>
    private async Task WriteWithRetryAsync(List<ArchiveAppend> items)
    {
        bool durable = _options.Durability == ArchiveDurability.Strict;
        long first = _time.GetTimestamp();
        var wait = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await WriteAsync(items, durable).ConfigureAwait(false);
                return;
            }
            catch (StorageException ex) when (!durable && ex.Failure == StorageFailure.Disconnected
                && _time.GetElapsedTime(first) + wait < _options.OutageRetry)
            {
                Log.Debug($"Archive batch of {items.Count} waiting for the database: {ex.Message}");
                await Task.Delay(wait, _time).ConfigureAwait(false);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
        }
    }

    private async Task WriteAsync(List<ArchiveAppend> items, bool durable)
    {
        if (_store is IArchiveBatchStore batchStore) await batchStore.AppendBatchAsync(items, durable).ConfigureAwait(false);
        else
        {
            // A store without batches (none of ours): one transaction per item, same order.
            foreach (var i in items) await _store.AppendAsync(i.User, i.Key, i.Value, i.When, i.With).ConfigureAwait(false);
        }
    }

    /// <summary>Drops per-user entries whose last append is now done, so the map stays small.</summary>
    private void Forget(List<Pending> batch)
    {
        lock (_gate)
        {
            foreach (var p in batch)
            {
                if (_lastPerUser.TryGetValue(p.Item.User, out var last) && ReferenceEquals(last, p.Done.Task))
                    _lastPerUser.Remove(p.Item.User);
            }
        }
    }

    /// <summary>Stops taking appends and commits everything already queued.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate) _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}
