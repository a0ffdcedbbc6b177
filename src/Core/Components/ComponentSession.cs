using LuaXmpp.Logging;
using LuaXmpp.Network;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Components;

/// <summary>
/// An external component's connection once its handshake succeeded (XEP-0114): Prosody's
/// session of type "component" for the component's domain. Stanzas for the domain are written
/// to it in the component stream's namespace.
/// </summary>
public sealed class ComponentSession(string host, ClientConnection connection)
    : Session("component", host, Logger.For(host + ":component"))
{
    public ClientConnection Connection { get; } = connection;

    /// <summary>XEP-0114 §3: inside the component stream, stanzas are in jabber:component:accept.</summary>
    public override void Send(XmlElement element)
    {
        if (element.Namespace != Namespaces.Client)
        {
            Connection.Send(element);
            return;
        }
        var copy = element.Clone();
        ComponentNamespaces.Rename(copy, Namespaces.Client, ComponentNamespaces.Accept);
        Connection.Send(copy);
    }
}
