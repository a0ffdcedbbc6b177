using System.Xml;
using System.Xml.Linq;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>What a server sent on one stream, parsed leniently: the header, the top-level
/// elements, and whether the closing tag came. Parsing stops quietly at the first byte
/// that does not continue a well-formed stream (usually just the end of the data).</summary>
public sealed record StreamTranscript(XElement? Header, IReadOnlyList<XElement> Elements, bool Closed, string? ParseProblem)
{
    private static readonly XNamespace Streams = RawXmppClient.StreamsNs;
    private static readonly XNamespace StreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";

    public XElement? Features => Elements.FirstOrDefault(e => e.Name == Streams + "features");

    public XElement? StreamError => Elements.FirstOrDefault(e => e.Name == Streams + "error");

    /// <summary>The defined-condition elements of the stream error (RFC 6120 §4.9.2): exactly one is allowed.</summary>
    public IReadOnlyList<string> ErrorConditions => StreamError?.Elements()
        .Where(e => e.Name.Namespace == StreamErrors && e.Name.LocalName != "text")
        .Select(e => e.Name.LocalName).ToList() ?? [];

    public static StreamTranscript Parse(string text)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, IgnoreWhitespace = true };
        var elements = new List<XElement>();
        XElement? header = null;
        var closed = false;
        string? problem = null;
        try
        {
            using var reader = XmlReader.Create(new StringReader(text), settings);
            reader.MoveToContent();
            header = new XElement(XName.Get(reader.LocalName, reader.NamespaceURI));
            if (reader.MoveToFirstAttribute())
            {
                do
                {
                    if (!reader.Name.StartsWith("xmlns", StringComparison.Ordinal))
                    {
                        header.SetAttributeValue(XName.Get(reader.LocalName, reader.NamespaceURI), reader.Value);
                    }
                }
                while (reader.MoveToNextAttribute());
                reader.MoveToElement();
            }

            if (reader.IsEmptyElement)
            {
                return new StreamTranscript(header, elements, true, null);
            }

            // Each element is loaded through a subtree reader so that it is kept even when
            // the read past it hits the (usual) end of an unclosed stream.
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.Element && reader.Depth == 1)
                {
                    using var element = reader.ReadSubtree();
                    elements.Add(XElement.Load(element));
                }
                else if (reader.NodeType == XmlNodeType.EndElement && reader.Depth == 0)
                {
                    closed = true;
                    break;
                }
            }
        }
        catch (XmlException e)
        {
            problem = e.Message;
        }

        return new StreamTranscript(header, elements, closed, problem);
    }
}
