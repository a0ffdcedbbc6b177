using LuaXmpp.Xml;

namespace LuaXmpp.LuaBridge.Runtime;

/// <summary>
/// What <see cref="Events.EventData.LuaTable"/> holds: the slot of the event's Lua table in
/// bridge.lua's live_events (chain_state.live_events), so that every Lua handler of one pass
/// sees the same table, and the stanza last synchronised with it. A slot costs a table store in
/// Lua instead of a registry reference (luaL_ref/luaL_unref) per event (issue 11). Released when
/// the loop finishes the work item that created it.
/// </summary>
internal sealed class EventRef(int slot, XmlElement? stanza)
{
    /// <summary>The index in live_events; 0 once released.</summary>
    public int Slot { get; private set; } = slot;

    public bool IsReleased => Slot == 0;

    public void Release() => Slot = 0;

    /// <summary>The element event.stanza was last made from or copied into.</summary>
    public XmlElement? Stanza { get; set; } = stanza;
}
