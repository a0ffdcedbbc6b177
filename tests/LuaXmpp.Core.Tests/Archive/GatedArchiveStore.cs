using LuaXmpp.Storage;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Archive;

/// <summary>
/// A real archive store whose batch commits wait at a gate the test opens, so a test can queue
/// appends while a commit is "on disk" and see what the writer does with them. Records each
/// batch's size.
/// </summary>
internal sealed class GatedArchiveStore(IArchiveStore inner) : IArchiveStore, IArchiveBatchStore
{
    private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<int> BatchSizes { get; } = new();

    /// <summary>Completes when a commit reaches the gate.</summary>
    public TaskCompletionSource Arrived { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _gate.TrySetResult();

    public async Task AppendBatchAsync(IReadOnlyList<ArchiveAppend> items, bool durable)
    {
        lock (BatchSizes) BatchSizes.Add(items.Count);
        Arrived.TrySetResult();
        await _gate.Task;
        Arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await ((IArchiveBatchStore)inner).AppendBatchAsync(items, durable);
    }

    public Task<string> AppendAsync(string? user, string? key, XmlElement value, long when, string? with) => inner.AppendAsync(user, key, value, when, with);

    private TaskCompletionSource? _findGate;

    /// <summary>Completes when a held find reaches its gate.</summary>
    public TaskCompletionSource FindArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The next finds wait (before reading) until <see cref="ReleaseFinds"/>.</summary>
    public void HoldFinds() => _findGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseFinds()
    {
        var gate = _findGate;
        _findGate = null;
        gate?.TrySetResult();
    }

    public async Task<ArchiveResult> FindAsync(string? user, ArchiveQuery query)
    {
        if (_findGate is { } gate)
        {
            FindArrived.TrySetResult();
            await gate.Task;
        }
        return await inner.FindAsync(user, query);
    }

    public Task<long> DeleteAsync(string? user, ArchiveQuery query) => inner.DeleteAsync(user, query);

    public Task<long> DeleteOlderThanAsync(long cutoff, int batch) => inner.DeleteOlderThanAsync(cutoff, batch);
}
