using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Routing;

/// <summary>
/// Replies shaped like Prosody's st.reply and st.error_reply, so what a client sees matches
/// Prosody: addresses swapped, id kept, and no copy of the original payload in error replies
/// (a bounced message does not echo its body).
/// </summary>
public static class StanzaReply
{
    /// <summary>An empty reply: type "result" for iq, the original type otherwise.</summary>
    public static XmlElement Result(XmlElement stanza)
    {
        var reply = new XmlElement(stanza.Name, stanza.Namespace);
        reply.SetAttribute("to", stanza.GetAttribute("from"));
        reply.SetAttribute("from", stanza.GetAttribute("to"));
        reply.SetAttribute("id", stanza.GetAttribute("id"));
        reply.SetAttribute("type", stanza.Name == "iq" ? "result" : stanza.GetAttribute("type"));
        return reply;
    }

    /// <summary>The error reply (RFC 6120 §8.3.1) carrying <paramref name="error"/>.</summary>
    public static XmlElement Error(XmlElement stanza, StanzaError error)
    {
        var reply = Result(stanza);
        reply.SetAttribute("type", "error");
        reply.AddChild(error.ToElement());
        return reply;
    }
}
