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

    internal static void Write(LogEntry entry)
    {
        var sinks = _sinks;
        foreach (var sink in sinks)
        {
            if (entry.Level >= sink.MinLevel) sink.Write(entry);
        }
    }
}
