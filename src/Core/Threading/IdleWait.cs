namespace LuaXmpp.Threading;

/// <summary>
/// How a dedicated consumer thread (the server loop, the completion relay) sleeps when it has no
/// work, and how producers wake it: a futex sleep with no spinning and no sched_yield. Under the
/// kernel's EEVDF scheduler a yield gives away the rest of the thread's slice, so a yielding
/// consumer waited up to a 4 ms tick behind busy threads with work already queued
/// (docs/PERFORMANCE.md, "Resume tail: yields"); a woken sleeper keeps its place.
/// </summary>
/// <remarks>
/// The consumer raises its "asleep" flag (a full fence) before it looks for work a last time;
/// a producer publishes its work (an interlocked enqueue) before it reads the flag. So either the
/// consumer's look sees the work or the producer sees the flag and sets the event; a set that
/// comes late only wakes the consumer for nothing.
/// </remarks>
public sealed class IdleWait
{
    private readonly ManualResetEventSlim _event = new(false, spinCount: 0);
    private int _sleeping;

    /// <summary>Producer, after publishing work: wakes the consumer if it is asleep.</summary>
    public void Wake()
    {
        if (Volatile.Read(ref _sleeping) != 0) _event.Set();
    }

    /// <summary>Wakes the consumer whether or not it is asleep (to stop it).</summary>
    public void WakeAlways() => _event.Set();

    /// <summary>Consumer only: sleeps unless <paramref name="hasWork"/> says work (or a stop) is there.</summary>
    public void Sleep(Func<bool> hasWork)
    {
        _event.Reset();
        Interlocked.Exchange(ref _sleeping, 1);
        if (!hasWork()) _event.Wait();
        Volatile.Write(ref _sleeping, 0);
    }
}
