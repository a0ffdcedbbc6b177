using KeraLua;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.LuaBridge.Runtime;

// "bytes/in" filters (util.filters): C# parses the stream itself, so a session's Lua "bytes/in"
// chain is called once per top-level element with that element's text, before the element is
// handled. That is what Prosody's modules use it for (mod_csi_simple flushes on any client
// activity, mod_limits' fallback counts bytes). Returning nil drops the element; any other
// return leaves it as parsed (a filter cannot rewrite the stream here).
public sealed partial class LuaRuntime
{
    private XmlElement? RunLuaBytesFilter(ClientSession session, XmlElement element)
    {
        if (_disposed || session.LuaTable is not LuaRef table || table.IsReleased) return element;
        var lua = State;
        int top = lua.GetTop();
        lua.EnsureStack(16);
        try
        {
            lua.PushRef(_call);
            lua.PushRef(_entry);
            lua.RawGetField(-1, "filter");
            lua.Remove(-2);
            lua.PushRef(table);
            lua.PushString("bytes/in");
            lua.PushString(XmlElementWriter.ToXmlString(element, Namespaces.Client));
            if (lua.PCall(4, 2, 0) != LuaStatus.OK || !lua.ToBoolean(-2))
            {
                session.Log.Error($"Error in bytes/in filter: {lua.ToString(-1, false)}");
                return element;
            }
            return lua.IsNil(-1) ? null : element;
        }
        finally
        {
            lua.SetTop(top);
        }
    }
}
