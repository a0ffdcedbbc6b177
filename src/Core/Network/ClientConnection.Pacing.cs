using System.Threading.Channels;

namespace LuaXmpp.Network;

// Pacing a connection as Prosody's net.server_epoll lets modules do it: writes held while a
// client is inactive (conn:pause_writes / resume_writes, XEP-0352 with mod_csi_simple), a drain
// signal once what was released has been written (Prosody's ondrain, "c2s-ondrain"), and reads
// paced to a byte rate (conn:setlimit, mod_limits).
public sealed partial class ClientConnection
{
    private readonly Lock _holdLock = new();
    // Non-null while writes are paused: serialized elements in queue order, already counted
    // against the send budget and the item bound (a client that is held too long is treated as
    // one that does not read).
    private List<byte[]>? _held;
    private int _drainWanted;
    private double _readLimit;

    /// <summary>
    /// Raised on the loop once everything queued has been written after <see cref="ResumeWrites"/>
    /// (Prosody's listener ondrain, turned into "c2s-ondrain" for the session).
    /// </summary>
    public event Action? Drained;

    /// <summary>True while writes are held.</summary>
    public bool WritesPaused => Volatile.Read(ref _held) is not null;

    public void PauseWrites()
    {
        lock (_holdLock)
        {
            if (IsClosed) return;
            _held ??= new List<byte[]>();
        }
    }

    public void ResumeWrites()
    {
        lock (_holdLock)
        {
            if (_held is null) return;
            ReleaseHeld();
            Volatile.Write(ref _drainWanted, 1);
        }
    }

    public void SetReadLimit(double bytesPerSecond) =>
        Volatile.Write(ref _readLimit, bytesPerSecond > 0 && double.IsFinite(bytesPerSecond) ? bytesPerSecond : 0);

    // Enqueue's path: true when the bytes were held rather than queued for the writer.
    private bool TryHold(byte[] bytes)
    {
        if (Volatile.Read(ref _held) is null) return false;
        lock (_holdLock)
        {
            if (_held is not { } held) return false;
            held.Add(bytes);
            return true;
        }
    }

    // Under _holdLock: hands what was held to the writer, in order. Close calls this first, so
    // held stanzas go out before the stream error (a stream-managed client then acks them).
    private void ReleaseHeld()
    {
        var held = _held;
        _held = null;
        if (held is null) return;
        foreach (var bytes in held)
        {
            if (QueueNow(bytes)) continue;
            _budget.Release(bytes.Length);
            Interlocked.Decrement(ref _queued);
        }
    }

    private void ReleaseHeldForClose()
    {
        lock (_holdLock) ReleaseHeld();
    }

    // The writer's check after each flush: the drain is reported once, when a resume was asked
    // for and nothing more is queued.
    private void SignalDrainIfWanted(ChannelReader<object> reader)
    {
        if (Volatile.Read(ref _drainWanted) == 0 || reader.TryPeek(out _)) return;
        if (Interlocked.Exchange(ref _drainWanted, 0) == 0 || Drained is not { } drained) return;
        _loop.Post(drained);
    }

    // After handling `fresh` newly read bytes, waits as long as they cost at the read limit
    // before reading more (server_epoll pauses the connection the same way, per read).
    private ValueTask PaceReadAsync(long fresh)
    {
        double limit = Volatile.Read(ref _readLimit);
        if (limit <= 0 || fresh <= 0) return ValueTask.CompletedTask;
        var cost = TimeSpan.FromSeconds(fresh / limit);
        // Prosody's min_wait: shorter pauses are not worth a timer.
        if (cost < TimeSpan.FromMilliseconds(1)) return ValueTask.CompletedTask;
        return new ValueTask(Task.Delay(cost, _loop.Time, _reading.Token));
    }
}
