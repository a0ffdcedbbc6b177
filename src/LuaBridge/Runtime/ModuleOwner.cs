using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

/// <summary>
/// One Lua module instance as C# sees it: the owner of its event hooks and host items (so
/// unload can remove them), and the way back to its <c>module</c> table (item sources).
/// </summary>
internal sealed class ModuleOwner(long id, string host, string name, LuaRef api)
{
    public long Id { get; } = id;

    public string Host { get; } = host;

    public string Name { get; } = name;

    /// <summary>The module's api table.</summary>
    public LuaRef Api { get; } = api;

    /// <summary>Prosody's logger name for the module.</summary>
    public string LogName => Host + ":" + Name;

    public override string ToString() => "mod_" + Name + " on " + Host;
}
