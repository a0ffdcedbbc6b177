namespace LuaXmpp.Network;

/// <summary>
/// The bytes a connection accepted for sending and the socket has not taken yet, held against a
/// limit, and against its account's and the server's bounds (<see cref="OutputBounds"/>) when it
/// has them. A client that stops reading makes this grow (the kernel's buffers fill, then ours),
/// so refusing past a bound is what keeps dead readers from pinning server memory.
/// </summary>
/// <remarks>
/// Thread-safe: the loop reserves when it queues a stanza, the connection's writer releases once
/// the socket accepted the bytes. A small lock keeps the shared counters equal to the sum of
/// their connections' (an account is joined while bytes may be in flight).
/// </remarks>
public sealed class SendBudget
{
    private readonly Lock _gate = new();
    private readonly OutputBounds? _bounds;
    private OutputBounds.Share? _account;
    private long _queued;
    private long _peak;

    public SendBudget(long limit, OutputBounds? bounds = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        Limit = limit;
        _bounds = bounds;
    }

    public long Limit { get; }

    /// <summary>Bytes reserved and not released.</summary>
    public long Queued => Volatile.Read(ref _queued);

    /// <summary>The most ever reserved at once.</summary>
    public long Peak => Volatile.Read(ref _peak);

    /// <summary>
    /// Reserves <paramref name="bytes"/>; false (and nothing reserved) when the total would pass
    /// the limit. <paramref name="total"/> is what the total is or would have been.
    /// </summary>
    public bool TryReserve(int bytes, out long total) => TryReserve(bytes, out total, out _);

    /// <summary>As <see cref="TryReserve(int, out long)"/>; <paramref name="over"/> names the bound that refused.</summary>
    public bool TryReserve(int bytes, out long total, out string? over)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_gate)
        {
            total = _queued + bytes;
            over = total > Limit ? "connection"
                : _account is { } account && !account.TryAdd(bytes, total) ? "account"
                : _bounds is { } bounds && !bounds.Total.TryAdd(bytes, total) ? "server" : null;
            if (over is not null)
            {
                if (over == "server") _account?.Remove(bytes);
                return false;
            }
            Volatile.Write(ref _queued, total);
            if (total > _peak) Volatile.Write(ref _peak, total);
            return true;
        }
    }

    /// <summary>The socket took <paramref name="bytes"/> (or they were dropped): they no longer count.</summary>
    public void Release(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_gate)
        {
            var left = _queued - bytes;
            // Releasing more than was reserved is a bug in the caller's bookkeeping.
            if (left < 0) throw new InvalidOperationException($"Released {bytes} bytes, {_queued} were reserved");
            Volatile.Write(ref _queued, left);
            _account?.Remove(bytes);
            _bounds?.Total.Remove(bytes);
        }
    }

    /// <summary>Counts this connection's bytes against the account's bound from now on (once, at authentication).</summary>
    public void JoinAccount(string account)
    {
        if (_bounds is null) return;
        lock (_gate)
        {
            if (_account is not null) return;
            _account = _bounds.Join(account);
            _account.Add(_queued);
        }
    }

    /// <summary>Stops counting against the account (the connection ended).</summary>
    public void LeaveAccount()
    {
        lock (_gate)
        {
            if (_account is not { } account) return;
            account.Remove(_queued);
            _account = null;
            _bounds!.Leave(account);
        }
    }
}
