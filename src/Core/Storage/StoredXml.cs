using System.Xml;
using LuaXmpp.Xml;
using XmlElement = LuaXmpp.Xml.XmlElement;
using XmlAttribute = LuaXmpp.Xml.XmlAttribute;
using XmlText = LuaXmpp.Xml.XmlText;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Storage;

/// <summary>
/// "xml" values as Prosody stores them: util.stanza's serialization, where a stanza taken from a
/// client stream carries no xmlns (the stream default) and children declare theirs. We write the
/// same form and read it back with "jabber:client" as the default namespace. Stored data is ours,
/// so the framework reader is good enough here (no DTDs, no entities beyond the predefined ones).
/// </summary>
internal static class StoredXml
{
    public const string DefaultNamespace = Namespaces.Client;

    private const string XmlnsNamespace = "http://www.w3.org/2000/xmlns/";
    private const string XmlNamespace = "http://www.w3.org/XML/1998/namespace";

    private static readonly XmlReaderSettings Settings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = false,
        ConformanceLevel = ConformanceLevel.Fragment,
        XmlResolver = null,
    };

    public static string Write(XmlElement element) => XmlElementWriter.ToXmlString(element, DefaultNamespace);

    /// <exception cref="FormatException">The text is not one well-formed element.</exception>
    public static XmlElement Parse(string text) => Parse(context => XmlReader.Create(new StringReader(text), Settings, context));

    /// <summary>The same from UTF-8 bytes as <see cref="XmlElementWriter.Write"/> wrote them with this default namespace.</summary>
    /// <exception cref="FormatException">The bytes are not one well-formed element.</exception>
    public static XmlElement Parse(byte[] utf8) => Parse(context => XmlReader.Create(new MemoryStream(utf8, writable: false), Settings, context));

    private static XmlElement Parse(Func<XmlParserContext, XmlReader> open)
    {
        var names = new NameTable();
        var ns = new XmlNamespaceManager(names);
        ns.AddNamespace("", DefaultNamespace);
        // The writer puts elements of the streams namespace (a stream error quoted inside a
        // stanza, say) under the stream's own "stream:" prefix, declared only on the stream header.
        ns.AddNamespace("stream", Namespaces.Streams);
        var context = new XmlParserContext(names, ns, null, XmlSpace.None);
        try
        {
            using var reader = open(context);
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.Element) return ReadElement(reader);
            }
        }
        catch (XmlException ex)
        {
            throw new FormatException("stored XML is not well-formed: " + ex.Message, ex);
        }
        throw new FormatException("stored XML has no element");
    }

    /// <summary>Reads the element the reader is on, and its subtree.</summary>
    private static XmlElement ReadElement(XmlReader reader)
    {
        var root = StartElement(reader);
        if (reader.IsEmptyElement) return root;
        var stack = new Stack<XmlElement>();
        stack.Push(root);
        while (reader.Read())
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    var child = StartElement(reader);
                    stack.Peek().Children.Add(child);
                    if (!reader.IsEmptyElement) stack.Push(child);
                    break;
                case XmlNodeType.EndElement:
                    stack.Pop();
                    if (stack.Count == 0) return root;
                    break;
                case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                    stack.Peek().Children.Add(new XmlText(reader.Value));
                    break;
            }
        }
        throw new FormatException("stored XML ends inside an element");
    }

    private static XmlElement StartElement(XmlReader reader)
    {
        var element = new XmlElement(reader.LocalName, reader.NamespaceURI);
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                if (reader.NamespaceURI == XmlnsNamespace) continue;
                string name = reader.NamespaceURI switch
                {
                    "" => reader.LocalName,
                    XmlNamespace => "xml:" + reader.LocalName,
                    var uri => uri + XmlAttribute.NamespaceSeparator + reader.LocalName,
                };
                element.Attributes.Add(new XmlAttribute(name, reader.Value));
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }
        return element;
    }
}
