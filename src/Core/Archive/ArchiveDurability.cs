namespace LuaXmpp.Archive;

/// <summary>What an archive append's commit promises (option <c>archive_durability</c>).</summary>
public enum ArchiveDurability
{
    /// <summary>
    /// Default. Appends are group-committed as soon as the writer gets to them, with SQLite
    /// synchronous=NORMAL in WAL mode: a committed batch survives a process crash but the last
    /// ones may not survive a power loss; appends still queued when the process dies are lost.
    /// On PostgreSQL a commit returns before the server flushed its WAL (synchronous_commit off):
    /// a PostgreSQL crash may lose the last ~0.6 s of commits (3 x wal_writer_delay), a clean
    /// restart none. A batch whose write fails (disk full, database server unreachable) is held
    /// and retried until it commits, so a stanza-id handed out points at an item that will be
    /// archived; past the hold bound (<see cref="ArchiveOptions.HoldLimit"/>) appends are
    /// refused and the message goes on without a stanza-id.
    /// </summary>
    Batched,

    /// <summary>
    /// Every commit is synced to disk (synchronous=FULL) before the append's Committed task
    /// completes, so a caller that awaits it knows the item survives a crash or power loss.
    /// mod_mam waits for it before the message goes on, and bounces the message if it fails.
    /// On PostgreSQL: committed and flushed on the server (synchronous_commit on).
    /// </summary>
    Strict,
}
