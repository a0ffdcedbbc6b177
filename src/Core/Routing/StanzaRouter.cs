using LuaXmpp.Hosting;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;

namespace LuaXmpp.Routing;

/// <summary>
/// Prosody's core/stanza_router.lua: <see cref="Process"/> (core_process_stanza) takes a stanza a
/// client sent, <see cref="Post"/> (core_post_stanza) fires the delivery events on the
/// destination host, <see cref="Route"/> (core_route_stanza) delivers stanzas the server
/// originates. Loop-thread only.
/// </summary>
public sealed partial class StanzaRouter(XmppServer server)
{
    public XmppServer Server { get; } = server;

    public HostContext? FindHost(string name) => Server.FindHost(name);

    /// <summary>A stanza received on a client session (after stream management and filters).</summary>
    public void Process(Session origin, XmlElement stanza) => ProcessCore(origin, stanza);

    /// <summary>Fires "&lt;name&gt;/&lt;to-type&gt;" on the destination host (with "pre-" events first when asked). True if something handled it.</summary>
    public bool Post(Session origin, XmlElement stanza, bool preEvents = false) => PostCore(origin, stanza, preEvents);

    /// <summary>Delivers a stanza the server or a module originates.</summary>
    public void Route(Session origin, XmlElement stanza) => RouteCore(origin, stanza);
}
