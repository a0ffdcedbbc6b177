using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Routing;

/// <summary>
/// Where a stanza is going, as Prosody's core_post_stanza classifies it: the event suffix
/// ("/full", "/bare", "/host"), the bare destination, and whether it is addressed to the
/// sender's own account (no 'to', or 'to' the sender's bare JID).
/// </summary>
internal readonly record struct Address(string Suffix, string? BareJid, string? Host, bool ToSelf)
{
    public static Address Classify(Session origin, XmlElement stanza)
    {
        var to = stanza.GetAttribute("to");
        if (to is null || !JidParts.TrySplit(to, out var node, out var host, out var resource))
        {
            return new Address("/bare", null, null, true);
        }
        if (node is null) return new Address("/host", host, host, false);
        var bare = node + "@" + host;
        if (resource is not null) return new Address("/full", bare, host, false);
        bool self = origin is ClientSession client && client.Username == node && client.Host == host;
        return new Address("/bare", bare, host, self);
    }
}
