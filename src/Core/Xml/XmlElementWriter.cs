using System.Buffers;
using System.Text;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Xml;

/// <summary>
/// Serializes element trees. Inside a stream, elements in the stream's default namespace are
/// written without xmlns; elements in the streams namespace use the "stream:" prefix the stream
/// header declared; any other namespace change is declared with xmlns on the element.
/// </summary>
public static class XmlElementWriter
{
    /// <summary>The element as text, declaring its namespace unless it equals <paramref name="contextNamespace"/>.</summary>
    public static string ToXmlString(XmlElement element, string? contextNamespace = null)
    {
        var sb = new StringBuilder();
        Write(sb, element, contextNamespace ?? "");
        return sb.ToString();
    }

    /// <summary>Writes the element as UTF-8 into a pipe or buffer.</summary>
    public static void Write(IBufferWriter<byte> output, XmlElement element, string contextNamespace)
    {
        var text = ToXmlString(element, contextNamespace);
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        int n = Encoding.UTF8.GetBytes(text, span);
        output.Advance(n);
    }

    private static void Write(StringBuilder sb, XmlElement e, string parentNs)
    {
        bool streamPrefixed = e.Namespace == Namespaces.Streams;
        string qname = streamPrefixed ? "stream:" + e.Name : e.Name;
        sb.Append('<').Append(qname);
        if (!streamPrefixed && e.Namespace != parentNs)
        {
            sb.Append(" xmlns='");
            Escape(sb, e.Namespace);
            sb.Append('\'');
        }
        int prefixCounter = 0;
        foreach (var a in e.Attributes)
        {
            int sep = a.Name.IndexOf(XmlAttribute.NamespaceSeparator);
            sb.Append(' ');
            if (sep >= 0)
            {
                // A namespaced attribute: declare a prefix for it on this element.
                string prefix = "ns" + (++prefixCounter);
                sb.Append("xmlns:").Append(prefix).Append("='");
                Escape(sb, a.Name[..sep]);
                sb.Append("' ").Append(prefix).Append(':').Append(a.Name[(sep + 1)..]);
            }
            else sb.Append(a.Name);
            sb.Append("='");
            Escape(sb, a.Value);
            sb.Append('\'');
        }
        if (e.Children.Count == 0)
        {
            sb.Append("/>");
            return;
        }
        sb.Append('>');
        string childContext = streamPrefixed ? parentNs : e.Namespace;
        foreach (var c in e.Children)
        {
            if (c is XmlElement child) Write(sb, child, childContext);
            else if (c is XmlText t) Escape(sb, t.Value);
        }
        sb.Append("</").Append(qname).Append('>');
    }

    private static void Escape(StringBuilder sb, string s)
    {
        foreach (char ch in s)
        {
            switch (ch)
            {
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '&': sb.Append("&amp;"); break;
                case '\'': sb.Append("&apos;"); break;
                case '"': sb.Append("&quot;"); break;
                default: sb.Append(ch); break;
            }
        }
    }
}
