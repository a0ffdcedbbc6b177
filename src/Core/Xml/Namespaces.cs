namespace LuaXmpp.Xml;

/// <summary>Namespace URIs the core speaks (RFC 6120, RFC 6121 and the XEPs named).</summary>
public static class Namespaces
{
    public const string Client = "jabber:client";
    public const string Server = "jabber:server";
    public const string Streams = "http://etherx.jabber.org/streams";
    public const string StreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";
    public const string Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    public const string Tls = "urn:ietf:params:xml:ns:xmpp-tls";
    public const string Sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
    public const string Sasl2 = "urn:xmpp:sasl:2";
    public const string Bind = "urn:ietf:params:xml:ns:xmpp-bind";
    public const string Session = "urn:ietf:params:xml:ns:xmpp-session";
    public const string Roster = "jabber:iq:roster";
    public const string RosterVersioning = "urn:xmpp:features:rosterver";
    public const string PresenceSubscriptionPreApproval = "urn:xmpp:features:pre-approval";
    public const string Register = "jabber:iq:register";
    public const string RegisterFeature = "http://jabber.org/features/iq-register";
    public const string DiscoInfo = "http://jabber.org/protocol/disco#info";
    public const string DiscoItems = "http://jabber.org/protocol/disco#items";
    public const string Ping = "urn:xmpp:ping";
    public const string Delay = "urn:xmpp:delay";
    public const string DataForms = "jabber:x:data";
    public const string Xml = "http://www.w3.org/XML/1998/namespace";
}
