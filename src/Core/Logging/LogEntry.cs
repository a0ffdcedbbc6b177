namespace LuaXmpp.Logging;

public sealed record LogEntry(DateTimeOffset Time, LogLevel Level, string Source, string Message, Exception? Exception);
