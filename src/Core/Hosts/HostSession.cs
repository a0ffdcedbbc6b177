using LuaXmpp.Logging;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Hosts;

/// <summary>The host itself as a stanza origin (Prosody's <c>hosts[host]</c>, type "local").</summary>
public sealed class HostSession(string host) : Session("local", host, Logger.For(host))
{
    /// <summary>Stanzas sent "to the host session" have nowhere to go; they are logged and dropped.</summary>
    public override void Send(XmlElement element) => Log.Debug($"Discarding stanza sent to host session: {element.Name}");
}
