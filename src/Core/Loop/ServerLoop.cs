using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using LuaXmpp.Logging;
using LuaXmpp.Threading;

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

    // Idle wait: the loop sleeps here when its queue is empty, after a short spin (SpinForWork),
    // and a Post wakes it. A Task wait spins ~70 times with sched_yield first, which cost a fifth
    // of the loop thread's CPU under routed load (docs/PERFORMANCE.md, "Routed messages: where
    // the CPU goes").
    private readonly IdleWait _idle = new();
    private readonly Func<bool> _hasWorkOrStop;

    // Loop-thread only: what wants to run once the current work item is done (a connection's
    // writer is woken once per turn, not once per stanza: TurnEnd).
    private readonly List<ITurnEnd> _turnEnd = [];

    public ServerLoop(TimeProvider? time = null, Logger? log = null)
    {
        Time = time ?? TimeProvider.System;
        _log = log ?? Logger.For("loop");
        _context = new LoopSynchronizationContext(this);
        _thread = new Thread(Run) { Name = "luaxmpp-loop", IsBackground = true };
        _hasWorkOrStop = () => _queue.Reader.TryPeek(out _) || _queue.Reader.Completion.IsCompleted;
    }

    public TimeProvider Time { get; }

    public bool IsOnLoop => Thread.CurrentThread == _thread;

    public void Start() => _thread.Start();

    /// <summary>Queues work; exceptions it throws are logged, never lost.</summary>
    public void Post(Action action) => Enqueue(new Work(action, null));

    /// <summary>
    /// On the loop: runs <paramref name="item"/>'s <see cref="ITurnEnd.OnTurnEnd"/> once the work
    /// item running now has finished (before the next one starts). Registering twice in one turn
    /// runs it twice; callers keep their own flag. Off the loop: runs it now.
    /// </summary>
    public void AtTurnEnd(ITurnEnd item)
    {
        if (IsOnLoop) _turnEnd.Add(item);
        else item.OnTurnEnd();
    }

    private bool Enqueue(Work work)
    {
        // The channel's enqueue is an interlocked operation: the work is published before Wake
        // looks whether the loop sleeps (IdleWait).
        if (!_queue.Writer.TryWrite(work)) return false;
        _idle.Wake();
        return true;
    }

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
        if (!Enqueue(work)) tcs.SetException(new ObjectDisposedException(nameof(ServerLoop)));
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
        _idle.WakeAlways();
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
                while (reader.TryRead(out var work))
                {
                    Execute(work);
                    if (_turnEnd.Count > 0) RunTurnEnd();
                }
                if (reader.Completion.IsCompleted) break;
                if (SpinForWork(reader)) continue;
                // Block this dedicated thread until more work arrives; no other work is ever here.
                _idle.Sleep(_hasWorkOrStop);
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    // A short spin before sleeping: work that arrives within microseconds (the next stanza of a
    // client waiting for our answer) is taken without a futex wake-up. The spin never yields:
    // under the kernel's EEVDF scheduler a sched_yield gives up the rest of the thread's slice,
    // and a loop that yielded while the JIT's tiering thread or the GC's background thread were
    // runnable waited up to a 4 ms tick to run again with a resume in its queue (perf sched,
    // docs/PERFORMANCE.md "Resume tail: yields"). A thread that sleeps and is woken does not lose
    // its place that way. SpinIterations x SpinUnits pause units are about 10 µs (a Task wait
    // spins ~70 times with sched_yield first, which cost a fifth of the loop thread's CPU under
    // routed load).
    private const int SpinIterations = 20;
    private const int SpinUnits = 10;

    private static bool SpinForWork(ChannelReader<Work> reader)
    {
        for (int i = 0; i < SpinIterations; i++)
        {
            Thread.SpinWait(SpinUnits);
            if (reader.TryPeek(out _)) return true;
        }
        return false;
    }

    private void RunTurnEnd()
    {
        // Index loop: an OnTurnEnd may register more (they run in this same pass).
        for (int i = 0; i < _turnEnd.Count; i++)
        {
            try
            {
                _turnEnd[i].OnTurnEnd();
            }
            catch (Exception ex)
            {
                _log.Error("Unhandled exception at the end of a loop turn", ex);
            }
        }
        _turnEnd.Clear();
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

    /// <summary>Something that runs once the loop's current work item has finished (<see cref="AtTurnEnd"/>).</summary>
    public interface ITurnEnd
    {
        void OnTurnEnd();
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
