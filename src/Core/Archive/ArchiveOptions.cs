namespace LuaXmpp.Archive;

/// <summary>How one archive (host, store) is written, counted and expired.</summary>
public sealed record ArchiveOptions
{
    public ArchiveDurability Durability { get; init; } = ArchiveDurability.Batched;

    /// <summary>
    /// Most appends in one transaction (option <c>archive_max_batch</c>); more waiting ones go in
    /// the next. Bounds how long one commit holds SQLite's write lock, not how many can be lost.
    /// </summary>
    public int MaxBatch { get; init; } = 512;

    /// <summary>
    /// Least time between the starts of two commits (option <c>archive_commit_interval</c>,
    /// seconds). Zero (the default): a batch is committed as soon as the previous commit ends,
    /// so the group-commit interval is the length of one commit (milliseconds without fsync).
    /// A longer interval makes bigger batches (fewer syncs, which matters in strict mode) at the
    /// price of latency in strict mode and, in batched mode, a wider window of appends a process
    /// kill can lose: at most what was appended since the start of the last commit that
    /// finished, i.e. about one interval plus the commit in flight.
    /// </summary>
    public TimeSpan CommitInterval { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// How long a batched-mode commit keeps retrying while the database server cannot be reached
    /// (PostgreSQL restarting); appends queue behind it meanwhile and none is lost. Past this the
    /// batch fails and is logged. Strict mode never waits: the append fails at once.
    /// </summary>
    public TimeSpan OutageRetry { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Most rows one expiry DELETE removes, so no single write holds the database for long.</summary>
    public int ExpiryBatch { get; init; } = 1000;

    /// <summary>
    /// Most matches a full-text search counts for its RSM total; past it the total is left out
    /// (see <see cref="Storage.ArchiveQuery.TotalLimit"/>). Zero or less: always count them all.
    /// </summary>
    public long FullTextCountLimit { get; init; } = 1000;

    /// <summary>Most (user, filter) totals kept; past that the cache starts over.</summary>
    public int CountCacheSize { get; init; } = 10_000;

    /// <summary>
    /// Most queries running in SQLite at once. Each one blocks a thread-pool thread while it
    /// reads; left unbounded, ten clients paging at once starve the pool that also runs every
    /// connection's reads and writes, and message latency suffers. The rest wait without a thread.
    /// </summary>
    public int QueryConcurrency { get; init; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Parses <c>archive_durability</c>: "strict", anything else (or nothing) is batched.</summary>
    public static ArchiveDurability ParseDurability(string? value) =>
        string.Equals(value, "strict", StringComparison.OrdinalIgnoreCase) ? ArchiveDurability.Strict : ArchiveDurability.Batched;
}
