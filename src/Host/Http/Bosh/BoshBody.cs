using System.Security;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace LuaXmpp.Host.Http.Bosh;

/// <summary>
/// The &lt;body/&gt; wrapper of XEP-0124 both ways: a client's request parsed (no DTD, no
/// external entities, bounded), and the server's answers written as text.
/// </summary>
internal static class BoshBody
{
    public const string Namespace = "http://jabber.org/protocol/httpbind";
    public const string XBoshNamespace = "urn:xmpp:xbosh";
    private const string StreamsNs = "http://etherx.jabber.org/streams";

    /// <summary>The request's &lt;body/&gt;, or null when it is not one (XEP-0124 §17.1: bad-request).</summary>
    public static XElement? Parse(byte[] bytes)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            IgnoreComments = true,
            MaxCharactersFromEntities = 0,
        };
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(bytes, writable: false), settings);
            var body = XElement.Load(reader);
            return body.Name == XName.Get("body", Namespace) ? body : null;
        }
        catch (XmlException)
        {
            return null;
        }
    }

    /// <summary>
    /// The payload as the c2s stream beneath expects it: each child serialized with its
    /// namespaces declared; children left in the BOSH namespace are jabber:client (XEP-0206 §5).
    /// </summary>
    public static string Payload(XElement body)
    {
        var text = new StringBuilder();
        foreach (var child in body.Elements())
        {
            foreach (var e in child.DescendantsAndSelf().Where(e => e.Name.Namespace == Namespace))
                e.Name = XName.Get(e.Name.LocalName, "jabber:client");
            text.Append(child.ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces));
        }
        return text.ToString();
    }

    public static string? Attr(XElement body, string name) => (string?)body.Attribute(name);

    public static bool Restart(XElement body) => (string?)body.Attribute(XName.Get("restart", XBoshNamespace)) == "true";

    /// <summary>A response: attributes (already chosen) around the elements queued for the client.</summary>
    public static string Response(IEnumerable<KeyValuePair<string, string>> attributes, IEnumerable<string> elements)
    {
        var text = new StringBuilder("<body xmlns='").Append(Namespace).Append("' xmlns:stream='").Append(StreamsNs).Append('\'');
        foreach (var (name, value) in attributes)
            text.Append(' ').Append(name).Append("='").Append(SecurityElement.Escape(value)).Append('\'');
        text.Append('>');
        foreach (var element in elements) text.Append(element);
        return text.Append("</body>").ToString();
    }

    /// <summary>XEP-0124 §17: the session is over, for the reason given (null: a normal end).</summary>
    public static string Terminate(string? condition, IEnumerable<string>? elements = null) =>
        Response(condition is null ? [new("type", "terminate")] : [new("type", "terminate"), new("condition", condition)], elements ?? []);
}
