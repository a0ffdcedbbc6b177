namespace LuaXmpp.Logging;

public interface ILogSink : IDisposable
{
    LogLevel MinLevel { get; }

    void Write(LogEntry entry);
}
