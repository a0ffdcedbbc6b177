using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using LuaXmpp.Logging;

namespace LuaXmpp.Loop;

/// <summary>
/// The one thread that owns server state: sessions, routing, events and the Lua state all live
/// here, as in Prosody's single-threaded main loop, so modules keep their single-threaded
/// assumptions. Sockets, parsing, serialization, TLS, hashing and SQL run elsewhere and post
/// their results here. Code on the loop may <c>await</c>: continuations come back to the loop
/// through its <see cref="SynchronizationContext"/>.
/// </summary>
public sealed class ServerLoop : IAsyncDisposable
{
    private readonly Channel<Work> _queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _thread;
    private readonly LoopSynchronizationContext _context;
    private readonly Logger _log;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Due timers (and other deferred work, PostDeferred) wait here, not in _queue: a burst of them
    // (100 000 hibernating sessions expiring at one deadline after an outage, 1 000 connections
    // reset at once) must not sit in front of every client's next stanza. One marker in _queue
    // runs them for at most TimerSlice (or TimersPerSlice of them), then goes to the back of the queue.
    private readonly ConcurrentQueue<Action> _dueTimers = new();
    private static readonly TimeSpan TimerSlice = TimeSpan.FromMilliseconds(5);
    private const int TimersPerSlice = 256;
    private int _timerMarkerQueued;
    private bool _disposing;

    public ServerLoop(TimeProvider? time = null, Logger? log = null)
    {
        Time = time ?? TimeProvider.System;
        _log = log ?? Logger.For("loop");
        _context = new LoopSynchronizationContext(this);
        _thread = new Thread(Run) { Name = "luaxmpp-loop", IsBackground = true };
    }

    public TimeProvider Time { get; }

    public bool IsOnLoop => Thread.CurrentThread == _thread;

    public void Start() => _thread.Start();

    /// <summary>Queues work; exceptions it throws are logged, never lost.</summary>
    public void Post(Action action) => _queue.Writer.TryWrite(new Work(action, null));

    /// <summary>Runs the action now if already on the loop, otherwise queues it.</summary>
    public void Run(Action action)
    {
        if (IsOnLoop) action();
        else Post(action);
    }

    public Task InvokeAsync(Action action) => InvokeAsync(() => { action(); return true; });

    public Task<T> InvokeAsync<T>(Func<T> func)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = new Work(() => tcs.SetResult(func()), ex => tcs.SetException(ex));
        if (!_queue.Writer.TryWrite(work)) tcs.SetException(new ObjectDisposedException(nameof(ServerLoop)));
        return tcs.Task;
    }

    /// <summary>Starts async work on the loop; the returned task completes when that work does.</summary>
    public Task InvokeAsync(Func<Task> func) => InvokeAsync<Task>(func).Unwrap();

    /// <summary>
    /// As <see cref="InvokeAsync(Func{Task})"/>, but in the deferred lane that due timers use:
    /// run in slices behind other work, for bursts that must not delay everyone (mass disconnects).
    /// </summary>
    public Task InvokeDeferredAsync(Func<Task> func)
    {
        if (_queue.Reader.Completion.IsCompleted || Volatile.Read(ref _disposing)) return Task.FromException(new ObjectDisposedException(nameof(ServerLoop)));
        var tcs = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostTimer(() =>
        {
            try
            {
                tcs.SetResult(func());
            }
            catch (Exception ex)
            {
                tcs.SetException(ex);
            }
        });
        return tcs.Task.Unwrap();
    }

    /// <summary>
    /// Calls <paramref name="callback"/> on the loop after <paramref name="delay"/>; if it returns a
    /// delay, it is called again after that (util.timer's contract). Dispose to cancel.
    /// </summary>
    public IDisposable AddTimer(TimeSpan delay, Func<TimeSpan?> callback) => new LoopTimer(this, delay, callback);

    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _disposing, true);
        _queue.Writer.TryComplete();
        if (_thread.IsAlive && !IsOnLoop) await _stopped.Task.ConfigureAwait(false);
    }

    private void Run()
    {
        SynchronizationContext.SetSynchronizationContext(_context);
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                while (reader.TryRead(out var work)) Execute(work);
                // Block this dedicated thread until more work arrives; no other work is ever here.
                if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void PostTimer(Action fire)
    {
        _dueTimers.Enqueue(fire);
        QueueTimerMarker();
    }

    private void QueueTimerMarker()
    {
        if (Interlocked.CompareExchange(ref _timerMarkerQueued, 1, 0) == 0) Post(RunDueTimers);
    }

    private void RunDueTimers()
    {
        Volatile.Write(ref _timerMarkerQueued, 0);
        long start = Stopwatch.GetTimestamp();
        for (int n = 1; _dueTimers.TryDequeue(out var fire); n++)
        {
            Execute(new Work(fire, null));
            if (n == TimersPerSlice || Stopwatch.GetElapsedTime(start) >= TimerSlice) break;
        }
        if (!_dueTimers.IsEmpty) QueueTimerMarker();
    }

    private void Execute(Work work)
    {
        try
        {
            work.Action();
        }
        catch (Exception ex)
        {
            if (work.OnError is not null) work.OnError(ex);
            else _log.Error("Unhandled exception on the loop thread", ex);
        }
    }

    private readonly record struct Work(Action Action, Action<Exception>? OnError);

    private sealed class LoopSynchronizationContext(ServerLoop loop) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => loop.Post(() => d(state));

        public override void Send(SendOrPostCallback d, object? state)
        {
            if (loop.IsOnLoop) d(state);
            else loop.InvokeAsync(() => d(state)).GetAwaiter().GetResult();
        }

        public override SynchronizationContext CreateCopy() => this;
    }

    private sealed class LoopTimer : IDisposable
    {
        private readonly ServerLoop _loop;
        private readonly Func<TimeSpan?> _callback;
        private readonly ITimer _timer;
        private bool _disposed;

        public LoopTimer(ServerLoop loop, TimeSpan delay, Func<TimeSpan?> callback)
        {
            _loop = loop;
            _callback = callback;
            _timer = loop.Time.CreateTimer(_ => _loop.PostTimer(Fire), null, delay, Timeout.InfiniteTimeSpan);
        }

        public void Dispose()
        {
            _disposed = true;
            _timer.Dispose();
        }

        private void Fire()
        {
            if (_disposed) return;
            TimeSpan? next;
            try
            {
                next = _callback();
            }
            catch (Exception ex)
            {
                _loop._log.Error("Timer callback failed", ex);
                next = null;
            }
            if (next is { } d && !_disposed) _timer.Change(d, Timeout.InfiniteTimeSpan);
            else Dispose();
        }
    }
}
