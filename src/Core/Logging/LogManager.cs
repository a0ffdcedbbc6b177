namespace LuaXmpp.Logging;

/// <summary>
/// Where log lines go. Configured once at start from the config's <c>log</c> option (levels to
/// files or the console); before that, warnings and errors go to standard error.
/// </summary>
public static class LogManager
{
    private static readonly object Gate = new();
    private static ILogSink[] _sinks = [new ConsoleLogSink(LogLevel.Warn, Console.Error)];
    private static LogLevel _lowest = LogLevel.Warn;

    public static bool IsEnabled(LogLevel level) => level >= _lowest;

    public static void Configure(IEnumerable<ILogSink> sinks)
    {
        var array = sinks.ToArray();
        lock (Gate)
        {
            foreach (var old in _sinks) old.Dispose();
            _sinks = array;
            _lowest = array.Length == 0 ? LogLevel.Error + 1 : array.Min(s => s.MinLevel);
        }
    }

    private static long _dropped;
    private static long _droppedAtLastReport;
    private static long _lastReportTicks;

    /// <summary>Lines a sink failed to write (a full disk under the log file), since the start.</summary>
    public static long Dropped => Interlocked.Read(ref _dropped);

    // Logging never throws into its caller: the caller is usually an error path (a storage
    // write that failed on the same full disk), and an exception here would wedge it. A line a
    // sink cannot take is counted; at most one notice per minute goes to standard error.
    internal static void Write(LogEntry entry)
    {
        var sinks = _sinks;
        foreach (var sink in sinks)
        {
            if (entry.Level < sink.MinLevel) continue;
            try
            {
                sink.Write(entry);
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _dropped);
                ReportDropped(ex);
            }
        }
    }

    private static void ReportDropped(Exception ex)
    {
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _lastReportTicks);
        if (last != 0 && now - last < 60_000) return;
        if (Interlocked.CompareExchange(ref _lastReportTicks, now, last) != last) return;
        long dropped = Dropped;
        long since = dropped - Interlocked.Exchange(ref _droppedAtLastReport, dropped);
        try
        {
            Console.Error.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss.fff} logging: a log sink failed ({ex.Message}); {since} line(s) dropped since the last notice, {dropped} in all");
        }
        catch (Exception)
        {
            // Standard error is gone too: nothing left to tell.
        }
    }
}
