namespace LuaXmpp.S2s;

/// <summary>The namespaces of server-to-server streams.</summary>
public static class S2sNamespaces
{
    /// <summary>RFC 6120 §4.8.2: the default namespace of an s2s stream.</summary>
    public const string Server = "jabber:server";

    /// <summary>XEP-0220: dialback elements (db:result, db:verify).</summary>
    public const string Dialback = "jabber:server:dialback";

    /// <summary>XEP-0220 §2.4: the stream feature that advertises dialback.</summary>
    public const string DialbackFeature = "urn:xmpp:features:dialback";
}
