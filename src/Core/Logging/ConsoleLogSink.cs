namespace LuaXmpp.Logging;

/// <summary>Writes lines in Prosody's layout: time, source, level, message.</summary>
public sealed class ConsoleLogSink(LogLevel minLevel, TextWriter writer) : ILogSink
{
    private readonly object _gate = new();
    private bool _disposed;

    public LogLevel MinLevel { get; } = minLevel;

    public void Write(LogEntry e)
    {
        var line = Format(e);
        lock (_gate)
        {
            // A reload (log reopen) may dispose this sink while a line is on its way.
            if (_disposed) return;
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    public static string Format(LogEntry e)
    {
        var level = e.Level.ToString().ToLowerInvariant();
        var text = $"{e.Time:yyyy-MM-dd HH:mm:ss.fff} {e.Source,-24} {level,-5} {e.Message}";
        return e.Exception is null ? text : text + Environment.NewLine + e.Exception;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            if (writer != Console.Out && writer != Console.Error) writer.Dispose();
        }
    }
}
