using KeraLua;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Xml;

namespace LuaXmpp.LuaBridge.Runtime;

// Hooks for the bridge's cost benchmarks (bench/Micro/Bridge): one marshalling step on its own.
public sealed partial class LuaRuntime
{
    /// <summary>Converts the element to a util.stanza table and back into a new element.</summary>
    internal XmlElement StanzaRoundTrip(XmlElement element)
    {
        using var scope = LuaStack.Enter(State);
        var lua = scope.Lua;
        _stanzas.Push(lua, element);
        return _stanzas.Read(lua, -1);
    }
}
