namespace LuaXmpp.Storage;

/// <summary>
/// An archive store that can commit many new items in one transaction (group commit for the
/// archive writer). Implemented by the SQL and memory drivers next to <see cref="IArchiveStore"/>.
/// </summary>
public interface IArchiveBatchStore
{
    /// <summary>
    /// Appends the items in order, all or none. <paramref name="durable"/>: the commit is flushed to
    /// stable storage before the task completes (SQLite synchronous=FULL), not only to the WAL.
    /// </summary>
    Task AppendBatchAsync(IReadOnlyList<ArchiveAppend> items, bool durable);
}
