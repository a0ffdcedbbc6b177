using System.Security;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace LuaXmpp.Host.Http;

/// <summary>
/// RFC 7395's framing, translated to and from the plain XMPP stream the c2s stack speaks:
/// &lt;open/&gt; and &lt;close/&gt; stand for the stream header and its end, and every other
/// message is one complete element with its namespaces declared (§3.3.3).
/// </summary>
internal static partial class XmppFraming
{
    public const string Namespace = "urn:ietf:params:xml:ns:xmpp-framing";
    private const string StreamsNs = "http://etherx.jabber.org/streams";

    /// <summary>What one client message means for the stream beneath.</summary>
    public static string? FromClient(string message, out bool closed)
    {
        closed = false;
        var text = message.TrimStart();
        if (text.StartsWith("<?xml", StringComparison.Ordinal))
        {
            var end = text.IndexOf("?>", StringComparison.Ordinal);
            text = end < 0 ? "" : text[(end + 2)..].TrimStart();
        }
        if (!text.StartsWith("<open", StringComparison.Ordinal) && !text.StartsWith("<close", StringComparison.Ordinal)) return text;
        XElement element;
        try
        {
            element = XElement.Parse(text);
        }
        catch (System.Xml.XmlException)
        {
            return text; // not framing after all: the stream parser judges it
        }
        if (element.Name == XName.Get("close", Namespace))
        {
            closed = true;
            return "</stream:stream>";
        }
        if (element.Name != XName.Get("open", Namespace)) return text;
        var header = new StringBuilder("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='").Append(StreamsNs).Append('\'');
        foreach (var (name, value) in new[] { ("to", "to"), ("version", "version"), ("xml:lang", "{http://www.w3.org/XML/1998/namespace}lang"), ("from", "from") })
        {
            if (element.Attribute(XName.Get(value)) is { } attribute)
                header.Append(' ').Append(name).Append("='").Append(SecurityElement.Escape(attribute.Value)).Append('\'');
        }
        return header.Append('>').ToString();
    }

    /// <summary>The &lt;open/&gt; that answers for our stream header.</summary>
    public static string OpenFor(string streamHeader)
    {
        var open = new StringBuilder("<open xmlns='").Append(Namespace).Append('\'');
        foreach (Match m in AttributePattern().Matches(streamHeader))
        {
            var name = m.Groups[1].Value;
            if (name is "from" or "id" or "version" or "xml:lang" or "to")
                open.Append(' ').Append(name).Append("='").Append(m.Groups[3].Value).Append('\'');
        }
        return open.Append("/>").ToString();
    }

    public static string Close => $"<close xmlns='{Namespace}'/>";

    /// <summary>One depth-1 element of our stream as a message of its own, namespaces declared.</summary>
    public static string Standalone(string element)
    {
        var nameEnd = element.IndexOfAny([' ', '>', '/', '\t', '\n', '\r'], 1);
        if (nameEnd < 0) return element;
        var name = element[1..nameEnd];
        if (name.StartsWith("stream:", StringComparison.Ordinal))
            return element.Insert(nameEnd, $" xmlns:stream='{StreamsNs}'");
        var tagEnd = element.IndexOf('>');
        var startTag = tagEnd < 0 ? element : element[..tagEnd];
        return StartTagDeclaresDefault().IsMatch(startTag) ? element : element.Insert(nameEnd, " xmlns='jabber:client'");
    }

    [GeneratedRegex("([A-Za-z:_][-A-Za-z0-9:_.]*)\\s*=\\s*(['\"])(.*?)\\2")]
    private static partial Regex AttributePattern();

    [GeneratedRegex("\\sxmlns\\s*=")]
    private static partial Regex StartTagDeclaresDefault();
}
