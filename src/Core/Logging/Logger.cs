namespace LuaXmpp.Logging;

/// <summary>
/// A named log source ("localhost:mod_ping", "c2s5f3a"), as Prosody's util.logger names them.
/// Messages go to the sinks <see cref="LogManager"/> holds.
/// </summary>
public sealed class Logger(string name)
{
    public string Name { get; } = name;

    public static Logger For(string name) => new(name);

    public bool IsEnabled(LogLevel level) => LogManager.IsEnabled(level);

    public void Log(LogLevel level, string message, Exception? exception = null)
    {
        if (LogManager.IsEnabled(level)) LogManager.Write(new LogEntry(DateTimeOffset.UtcNow, level, Name, message, exception));
    }

    public void Debug(string message) => Log(LogLevel.Debug, message);

    public void Info(string message) => Log(LogLevel.Info, message);

    public void Warn(string message, Exception? exception = null) => Log(LogLevel.Warn, message, exception);

    public void Error(string message, Exception? exception = null) => Log(LogLevel.Error, message, exception);
}
