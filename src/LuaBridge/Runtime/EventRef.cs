using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Xml;

namespace LuaXmpp.LuaBridge.Runtime;

/// <summary>
/// What <see cref="Events.EventData.LuaTable"/> holds: the event's Lua table, so that every
/// Lua handler of one dispatch sees the same table, and the stanza last synchronised with it.
/// Released when the loop finishes the work item that created it.
/// </summary>
internal sealed class EventRef(LuaRef table, XmlElement? stanza)
{
    public LuaRef Table { get; } = table;

    /// <summary>The element event.stanza was last made from or copied into.</summary>
    public XmlElement? Stanza { get; set; } = stanza;
}
