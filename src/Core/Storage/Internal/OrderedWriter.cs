using System.Threading.Channels;

namespace LuaXmpp.Storage.Internal;

/// <summary>
/// Runs file writes one at a time on a dedicated thread, in the order they were issued, so two
/// writes of one file can never overtake each other; reads run on the thread pool once every
/// write issued before them is done (read-your-writes, as Prosody's synchronous storage gives its
/// modules). Nothing here runs on the caller's thread.
/// </summary>
internal sealed class OrderedWriter : IDisposable
{
    private readonly Channel<Action> _jobs = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _thread;
    private readonly object _gate = new();
    private Task _lastWrite = Task.CompletedTask; // under _gate
    private bool _disposed;

    public OrderedWriter(string name)
    {
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    public Task<T> WriteAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Job()
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _jobs.Writer.TryWrite(Job);
            _lastWrite = done.Task;
        }
        return done.Task;
    }

    public async Task<T> ReadAsync<T>(Func<T> work)
    {
        Task before;
        lock (_gate) before = _lastWrite;
        // Writes complete in order, so the last one issued being done means all are; its failure is its caller's.
        if (!before.IsCompleted) await Task.WhenAny(before).ConfigureAwait(false);
        return await Task.Run(work).ConfigureAwait(false);
    }

    private void Run()
    {
        var reader = _jobs.Reader;
        while (true)
        {
            while (reader.TryRead(out var job)) job();
            // A dedicated thread: blocking it while the queue is empty costs nothing else.
            if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) return;
        }
    }

    /// <summary>Finishes every write already queued.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _jobs.Writer.TryComplete();
        }
        if (Thread.CurrentThread != _thread) _thread.Join();
    }
}
