namespace LuaXmpp.Hosts;

/// <summary>Prosody's <c>hosts</c> table: the hosts that are up (VirtualHosts and Components), by name.</summary>
public interface IHostDirectory
{
    IReadOnlyDictionary<string, HostContext> Hosts { get; }

    HostContext? FindHost(string name);
}
