using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Archive;

/// <summary>
/// mod_mam's default answer to "archive-should-store" (XEP-0313 §5 leaves the choice to the
/// server), with Prosody 0.12's rules in Prosody's order: headlines and group chat never (the
/// room archives group chat), errors only to a full JID (a bounce of one's own message), then
/// XEP-0334 hints, then any payload a user would miss: body, subject, XEP-0380 encryption,
/// receipts, chat markers, invitations, XEP-0353 call messages.
/// </summary>
public static class ArchivePolicy
{
    private const string Hints = "urn:xmpp:hints";
    private const string MucUser = "http://jabber.org/protocol/muc#user";

    /// <summary>Whether to archive, and why (event.reason).</summary>
    public static (bool Store, string Why) ShouldStore(XmlElement stanza)
    {
        switch (stanza.GetAttribute("type") ?? "normal")
        {
            case "headline": return (false, "headline");
            case "error":
                return (JidParts.TrySplit(stanza.GetAttribute("to"), out _, out _, out var resource) && resource is not null, "error");
            case "groupchat": return (false, "groupchat");
        }
        if (stanza.Element("no-store", Hints) is not null || stanza.Element("no-permanent-store", Hints) is not null) return (false, "hint");
        if (stanza.Element("store", Hints) is not null) return (true, "hint");
        if (Own(stanza, "body")) return (true, "body");
        if (Own(stanza, "subject")) return (true, "subject");
        if (stanza.Element("encryption", "urn:xmpp:eme:0") is not null) return (true, "encrypted");
        if (AnyIn(stanza, "urn:xmpp:receipts")) return (true, "receipt");
        if (AnyIn(stanza, "urn:xmpp:chat-markers:0")) return (true, "marker");
        if (stanza.Element("x", "jabber:x:conference") is not null || stanza.Element("x", MucUser)?.Element("invite", MucUser) is not null)
            return (true, "invite");
        if (AnyIn(stanza, "urn:xmpp:jingle-message:0") || AnyIn(stanza, "urn:xmpp:jingle-message:1")) return (true, "call");
        return (false, "no archivable payload");
    }

    // A child in the stanza's own namespace (util.stanza's get_child without a namespace).
    private static bool Own(XmlElement stanza, string name)
    {
        foreach (var child in stanza.Elements())
        {
            if (child.Name == name && (child.Namespace == stanza.Namespace || child.Namespace == Namespaces.Client)) return true;
        }
        return false;
    }

    private static bool AnyIn(XmlElement stanza, string ns)
    {
        foreach (var child in stanza.Elements())
        {
            if (child.Namespace == ns) return true;
        }
        return false;
    }
}
