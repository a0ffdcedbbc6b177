namespace LuaXmpp.Logging;

/// <summary>
/// Keeps a repeating event from flooding the log: the first event of a burst is logged, the
/// rest of the burst only counted, and the next line (at most one per <c>interval</c>) says how
/// many were left out. A flood of refused connections or failed accepts then costs a few lines,
/// not one per event (a log that grows by megabytes a second is itself a way to fill the disk).
/// Thread-safe.
/// </summary>
public sealed class LogBurst(TimeProvider time, TimeSpan interval)
{
    private readonly Lock _lock = new();
    private DateTimeOffset _lastLine = DateTimeOffset.MinValue;
    private long _skipped;

    /// <summary>Events counted but not logged since the last line.</summary>
    public long Skipped
    {
        get
        {
            lock (_lock) return _skipped;
        }
    }

    /// <summary>
    /// True when this event should be logged; <paramref name="skipped"/> is then how many were
    /// left out before it.
    /// </summary>
    public bool ShouldLog(out long skipped)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (now - _lastLine < interval)
            {
                _skipped++;
                skipped = 0;
                return false;
            }
            _lastLine = now;
            skipped = _skipped;
            _skipped = 0;
            return true;
        }
    }
}
