namespace LuaXmpp.Logging;

/// <summary>Prosody's log levels, lowest first.</summary>
public enum LogLevel
{
    Debug,
    Info,
    Warn,
    Error,
}
