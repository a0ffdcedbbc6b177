namespace LuaXmpp.Network;

/// <summary>
/// Server-wide bounds on output held for clients that do not read (issue 16, item 7): besides
/// each connection's own budget, the bytes queued for all connections of one account and for
/// all connections together. One instance is shared by every client listener.
/// </summary>
/// <remarks>
/// A connection holding less than <see cref="FairShare"/> is not refused for its account's or
/// the server's sake until the bound is passed twice over, so a client that reads is not cut
/// because its siblings (or strangers) do not; twice the bound is the hard ceiling.
/// </remarks>
public sealed class OutputBounds
{
    /// <summary>64 MiB: four connections' worth of the per-connection budget.</summary>
    public const long DefaultPerAccount = 64L << 20;

    /// <summary>512 MiB for all connections together.</summary>
    public const long DefaultTotal = 512L << 20;

    /// <summary>1 MiB: what any connection may always hold (a few large stanzas).</summary>
    public const long DefaultFairShare = 1L << 20;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Share> _accounts = new(StringComparer.Ordinal);

    public OutputBounds(long perAccount = DefaultPerAccount, long total = DefaultTotal, long fairShare = DefaultFairShare)
    {
        PerAccount = perAccount;
        FairShare = fairShare;
        Total = new Share(this, null, total);
    }

    public long PerAccount { get; }

    public long FairShare { get; }

    /// <summary>Bytes queued for every connection together.</summary>
    public Share Total { get; }

    /// <summary>Reservations refused because an account or the total was over its bound.</summary>
    public long Refusals => Interlocked.Read(ref _refusals);

    private long _refusals;

    internal void CountRefusal() => Interlocked.Increment(ref _refusals);

    /// <summary>The account's share, created on first use; <see cref="Leave"/> once per <see cref="Join"/>.</summary>
    public Share Join(string account)
    {
        lock (_gate)
        {
            if (!_accounts.TryGetValue(account, out var share)) _accounts[account] = share = new Share(this, account, PerAccount);
            share.Members++;
            return share;
        }
    }

    public void Leave(Share share)
    {
        lock (_gate)
        {
            if (--share.Members == 0 && share.Account is { } account) _accounts.Remove(account);
        }
    }

    /// <summary>Bytes queued for one account's connections (0 when none is open).</summary>
    public long QueuedFor(string account)
    {
        lock (_gate) return _accounts.TryGetValue(account, out var share) ? share.Queued : 0;
    }

    /// <summary>A counter of queued bytes against a limit, shared by several connections.</summary>
    public sealed class Share(OutputBounds owner, string? account, long limit)
    {
        private long _queued;

        public string? Account { get; } = account;

        public long Limit { get; } = limit;

        public long Queued => Interlocked.Read(ref _queued);

        internal int Members { get; set; }

        /// <summary>
        /// Adds the bytes unless that passes the limit while the connection holds more than its
        /// fair share, or passes twice the limit.
        /// </summary>
        internal bool TryAdd(long bytes, long connectionQueued)
        {
            long total = Interlocked.Add(ref _queued, bytes);
            if (Limit <= 0 || total <= Limit || (connectionQueued <= owner.FairShare && total <= 2 * Limit)) return true;
            Interlocked.Add(ref _queued, -bytes);
            owner.CountRefusal();
            return false;
        }

        internal void Add(long bytes) => Interlocked.Add(ref _queued, bytes);

        internal void Remove(long bytes) => Interlocked.Add(ref _queued, -bytes);
    }
}
