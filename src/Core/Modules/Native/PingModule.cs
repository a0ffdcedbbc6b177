using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>mod_ping: XEP-0199 §4.2 and §4.3, an empty result to pings of the server or an account.</summary>
public sealed class PingModule : INativeModule
{
    public string Name => "ping";

    public void Load(ModuleContext module)
    {
        module.AddFeature(Namespaces.Ping);
        module.Hook("iq-get/bare/urn:xmpp:ping:ping", Pong);
        module.Hook("iq-get/host/urn:xmpp:ping:ping", Pong);
    }

    private static object? Pong(EventData e)
    {
        e.Origin?.Send(StanzaReply.Result(e.Stanza!));
        return true;
    }
}
