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
}
