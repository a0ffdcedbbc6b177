using LuaXmpp.Sessions;
using LuaXmpp.Xml;

namespace LuaXmpp.Routing;

// Placeholder until the delivery rules land.
public sealed partial class StanzaRouter
{
    private void ProcessCore(Session origin, XmlElement stanza) => PostCore(origin, stanza, true);

    private bool PostCore(Session origin, XmlElement stanza, bool preEvents) => false;

    private void RouteCore(Session origin, XmlElement stanza)
    {
    }
}
