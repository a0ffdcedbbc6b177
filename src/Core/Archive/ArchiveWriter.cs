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
/// <para>
/// A stanza-id handed out must point at an archived item (XEP-0359 §3; issue 16, item 5). In
/// batched mode a batch whose write fails (disk full, read-only file, database server away) is
/// therefore held and retried until it commits, with later appends queued behind it, up to
/// <see cref="ArchiveOptions.HoldLimit"/> items or <see cref="ArchiveOptions.HoldBytes"/>; past
/// that <see cref="TryAppend"/> refuses (returns null) and the caller delivers without a stanza-id.
/// Only a process kill, or a shutdown while the storage still fails, loses held items (logged).
/// Strict mode never holds: the append fails and mod_mam bounces the message.
/// </para>
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
    private readonly CancellationTokenSource _stopping = new();
    private volatile bool _holding;
    private TaskCompletionSource _holdStarted = NewSignal(); // under _gate
    private long _backlogItems;
    private long _backlogBytes;
    private long _refused;

    private sealed record Pending(ArchiveAppend Item, TaskCompletionSource Done, long Bytes);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

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

    /// <summary>As <see cref="TryAppend"/>; throws when the append is refused.</summary>
    public ArchiveAppendResult Append(string user, XmlElement value, long when, string with) =>
        TryAppend(user, value, when, with) ?? throw new InvalidOperationException("The archive is holding failed writes and its backlog is full");

    /// <summary>True while a failed batch is held and retried (batched mode).</summary>
    public bool Holding => _holding;

    /// <summary>Appends refused because the held backlog was full.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>
    /// Queues an item; never blocks and never touches the database on the caller's thread.
    /// Null when the writer is holding a failed batch and its backlog is at the hold bound: the
    /// item could not be promised a place in the archive, so it gets no id.
    /// </summary>
    public ArchiveAppendResult? TryAppend(string user, XmlElement value, long when, string with)
    {
        if (_holding && (Interlocked.Read(ref _backlogItems) >= _options.HoldLimit || Interlocked.Read(ref _backlogBytes) >= _options.HoldBytes))
        {
            Interlocked.Increment(ref _refused);
            return null;
        }
        var id = Guid.CreateVersion7().ToString();
        var done = NewSignal();
        long bytes = ArchiveItemSize.Estimate(value);
        lock (_gate)
        {
            // Under the gate, so the per-user "last" order is the queue order.
            if (!_queue.Writer.TryWrite(new Pending(new ArchiveAppend(user, id, value, when, with), done, bytes)))
                throw new ObjectDisposedException(nameof(ArchiveWriter));
            _lastPerUser[user] = done.Task;
        }
        Interlocked.Increment(ref _backlogItems);
        Interlocked.Add(ref _backlogBytes, bytes);
        return new ArchiveAppendResult(id, done.Task);
    }

    /// <summary>
    /// Completes once every append queued so far for the user is committed (or failed): a
    /// query awaits it first, so it sees what was archived before it (read-your-writes). While
    /// a failed batch is held it completes at once: the query is answered from what is
    /// committed rather than waiting for the storage to come back.
    /// </summary>
    public Task WhenCommitted(string user)
    {
        lock (_gate)
        {
            if (!_lastPerUser.TryGetValue(user, out var last) || _holding) return Task.CompletedTask;
            return Task.WhenAny(IgnoreFault(last), _holdStarted.Task);
        }
    }

    /// <summary>Completes once everything queued so far is committed (or the writer starts holding).</summary>
    public Task FlushAsync()
    {
        lock (_gate)
        {
            if (_holding) return Task.CompletedTask;
            return Task.WhenAny(Task.WhenAll(_lastPerUser.Values.Select(IgnoreFault).ToArray()), _holdStarted.Task);
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
                Settle(batch, ex);
            }
        }
    }

    private async Task CommitAsync(List<Pending> batch, DateTimeOffset taken)
    {
        var items = batch.Select(p => p.Item).ToList();
        var users = items.Select(i => i.User).Distinct().ToList();
        bool durable = _options.Durability == ArchiveDurability.Strict;
        var wait = TimeSpan.FromMilliseconds(100);
        long started;
        while (true)
        {
            started = _time.GetTimestamp();
            _counts.BeginChange(users);
            try
            {
                await WriteAsync(items, durable).ConfigureAwait(false);
                break;
            }
            catch (Exception ex)
            {
                _counts.EndChangeForget(users);
                if (durable || ex is not StorageException || _stopping.IsCancellationRequested)
                {
                    Fail(batch, ex);
                    return;
                }
                // Batched: these items' ids are out already, so the batch is kept and retried.
                if (!_failing) Log.Error($"Could not archive {items.Count} message(s): {ex.Message}; holding them and retrying until the storage works again");
                else Log.Debug($"Still cannot archive {items.Count} held message(s): {ex.Message}");
                _failing = true;
                SetHolding(true);
                try
                {
                    await Task.Delay(wait, _time, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Shutting down: one last try, then the batch fails.
                }
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
        _counts.EndAppend(items);
        if (_failing)
        {
            _failing = false;
            SetHolding(false);
            Log.Info($"Archiving works again (refused meanwhile: {Refused} message(s), delivered without stanza-id)");
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
        Settle(batch, null);
    }

    /// <summary>
    /// A batch that will not be committed. Everyone waiting is answered before anything is logged:
    /// nothing on this path may keep the writer (or a MAM query waiting for a user's last append)
    /// from going on.
    /// </summary>
    private void Fail(List<Pending> batch, Exception ex)
    {
        Settle(batch, ex);
        bool held = _options.Durability == ArchiveDurability.Batched && ex is StorageException;
        string what = held ? " whose stanza-ids were delivered (shutting down while the storage still fails)" : "";
        // Once per streak of failures: during an outage every batch fails the same way.
        if (!_failing || held) Log.Error($"Could not archive {batch.Count} message(s){what}: {ex.Message}; further failed batches are logged at debug level until one commits");
        else Log.Debug($"Could not archive {batch.Count} message(s): {ex.Message}");
        _failing = true;
    }

    private void Settle(List<Pending> batch, Exception? error)
    {
        foreach (var p in batch)
        {
            Interlocked.Decrement(ref _backlogItems);
            Interlocked.Add(ref _backlogBytes, -p.Bytes);
            if (error is null) p.Done.TrySetResult();
            else p.Done.TrySetException(error);
        }
        Forget(batch);
    }

    private void SetHolding(bool holding)
    {
        lock (_gate)
        {
            if (_holding == holding) return;
            _holding = holding;
            if (holding) _holdStarted.TrySetResult();
            else _holdStarted = NewSignal();
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
        // A held batch gets a few seconds more to commit (storage coming back), then fails.
        _stopping.CancelAfter(TimeSpan.FromSeconds(5));
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
