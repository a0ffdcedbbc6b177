namespace LuaXmpp.Configuration;

/// <summary>
/// Prosody's configmanager as its readers see it: the config in force. Read it at each use
/// rather than keeping it: a reload (SIGHUP) replaces it on the loop.
/// </summary>
public interface IConfigManager
{
    ServerConfig Config { get; }
}
