using LuaXmpp.Xml;

namespace LuaXmpp.Storage;

/// <summary>What full-text search reads of an archived stanza: its message bodies (XEP-0431 §4).</summary>
public static class MessageBody
{
    /// <summary>The text of every &lt;body/&gt; child (one per xml:lang), one per line; null when there is none.</summary>
    public static string? Of(XmlElement stanza)
    {
        string? text = null;
        foreach (var body in stanza.Elements("body", stanza.Namespace))
        {
            text = text is null ? body.Text : text + "\n" + body.Text;
        }
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }

    /// <summary>
    /// What the full-text index takes of an item of <paramref name="store"/>: its bodies, except for
    /// the offline store, which nobody searches (XEP-0431 searches the MAM archive): indexing each
    /// offline message cost a second copy of its body and a write per message, deleted again at
    /// delivery.
    /// </summary>
    public static string? Indexed(XmlElement stanza, string store) => store == "offline" ? null : Of(stanza);
}
