using System.Collections.Concurrent;

namespace LuaXmpp.Threading;

/// <summary>
/// Runs small actions (completing the tasks of work done on a low-priority thread) on a thread
/// of normal priority. Threads inherit their creator's nice value on Linux, and the thread pool
/// creates a worker (or its gate thread) on the thread that queues work when it needs one: a
/// <see cref="BackgroundPriority"/> thread that completed a task with asynchronous continuations
/// itself could so leave pool workers at nice 10, serving sockets at a tenth of a core. The
/// relay is created by (and so inherits the priority of) the thread that constructs it, and its
/// queue wakes it without queueing anything to the pool.
/// </summary>
/// <remarks>
/// The relay sleeps without spinning (<see cref="IdleWait"/>). A BlockingCollection's wait spins
/// with sched_yield: on two busy cores the relay and pool threads yielded to each other in 2-5 µs
/// turns while the loop waited for a core (perf sched, docs/PERFORMANCE.md "Resume tail: yields").
/// </remarks>
public sealed class CompletionRelay : IDisposable
{
    private readonly ConcurrentQueue<Action> _actions = new();
    private readonly IdleWait _idle = new();
    private readonly Func<bool> _hasWorkOrStop;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public CompletionRelay(string name)
    {
        _hasWorkOrStop = () => !_actions.IsEmpty || _stopping;
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>Queues the action; after <see cref="Dispose"/> it runs on the caller's thread.</summary>
    public void Post(Action action)
    {
        if (_stopping)
        {
            action();
            return;
        }
        _actions.Enqueue(action);
        _idle.Wake();
        // Dispose may have finished between the look at _stopping and the enqueue: then nobody
        // else will take it (an action is dequeued once, so it runs once either way).
        if (_stopping) RunQueued();
    }

    /// <summary>Runs what is queued, then stops the thread.</summary>
    public void Dispose()
    {
        _stopping = true;
        _idle.WakeAlways();
        if (Thread.CurrentThread != _thread) _thread.Join();
        // Posted between the relay's last look and _stopping: run here rather than lose them.
        RunQueued();
    }

    private void RunQueued()
    {
        while (_actions.TryDequeue(out var action)) action();
    }

    private void Run()
    {
        while (true)
        {
            RunQueued();
            if (_stopping) return;
            _idle.Sleep(_hasWorkOrStop);
        }
    }
}
