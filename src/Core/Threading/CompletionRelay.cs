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
public sealed class CompletionRelay : IDisposable
{
    private readonly BlockingCollection<Action> _actions = new();
    private readonly Thread _thread;

    public CompletionRelay(string name)
    {
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>Queues the action; after <see cref="Dispose"/> it runs on the caller's thread.</summary>
    public void Post(Action action)
    {
        try
        {
            _actions.Add(action);
        }
        catch (InvalidOperationException)
        {
            action();
        }
    }

    /// <summary>Runs what is queued, then stops the thread.</summary>
    public void Dispose()
    {
        _actions.CompleteAdding();
        if (Thread.CurrentThread != _thread) _thread.Join();
    }

    private void Run()
    {
        foreach (var action in _actions.GetConsumingEnumerable()) action();
    }
}
