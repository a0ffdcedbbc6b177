namespace LuaXmpp.Network;

/// <summary>
/// The bytes a connection accepted for sending and the socket has not taken yet, held against a
/// limit. A client that stops reading makes this grow (the kernel's buffers fill, then ours), so
/// refusing past the limit is what keeps a dead reader from pinning server memory.
/// </summary>
/// <remarks>
/// Thread-safe: the loop reserves when it queues a stanza, the connection's writer releases once
/// the socket accepted the bytes.
/// </remarks>
public sealed class SendBudget
{
    private long _queued;
    private long _peak;

    public SendBudget(long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        Limit = limit;
    }

    public long Limit { get; }

    /// <summary>Bytes reserved and not released.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    /// <summary>The most ever reserved at once.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    /// <summary>
    /// Reserves <paramref name="bytes"/>; false (and nothing reserved) when the total would pass
    /// the limit. <paramref name="total"/> is what the total is or would have been.
    /// </summary>
    public bool TryReserve(int bytes, out long total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        total = Interlocked.Add(ref _queued, bytes);
        if (total > Limit)
        {
            Interlocked.Add(ref _queued, -bytes);
            return false;
        }
        RaisePeak(total);
        return true;
    }

    /// <summary>The socket took <paramref name="bytes"/> (or they were dropped): they no longer count.</summary>
    public void Release(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var left = Interlocked.Add(ref _queued, -bytes);
        // Releasing more than was reserved is a bug in the caller's bookkeeping.
        if (left < 0) throw new InvalidOperationException($"Released {bytes} bytes, {left + bytes} were reserved");
    }

    private void RaisePeak(long total)
    {
        var peak = Interlocked.Read(ref _peak);
        while (total > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peak, total, peak);
            if (seen == peak) return;
            peak = seen;
        }
    }
}
