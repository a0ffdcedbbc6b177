using System.Buffers;
using System.Text;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Xml;

public sealed class XmlElementWriterTests
{
    /// <summary>Hands out spans of exactly the requested size, so the writer must ask again often.</summary>
    private sealed class StingyBufferWriter : IBufferWriter<byte>
    {
        private readonly List<byte> _written = new();
        private byte[] _current = [];

        public int Requests { get; private set; }

        public byte[] Written => _written.ToArray();

        public void Advance(int count) => _written.AddRange(_current.AsSpan(0, count));

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Requests++;
            _current = new byte[Math.Max(sizeHint, 1)];
            return _current;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    [Fact]
    public void ToXmlString_EscapesAttributesAndText()
    {
        var message = new XmlElement("message", Namespaces.Client).SetAttribute("id", "<'&\">");
        message.AddTextChild("body", "<b> & 'q' \"d\"");

        Assert.Equal(
            "<message xmlns='jabber:client' id='&lt;&apos;&amp;&quot;&gt;'><body>&lt;b&gt; &amp; 'q' \"d\"</body></message>",
            XmlElementWriter.ToXmlString(message));
    }

    [Fact]
    public void ToXmlString_WritesWhitespaceAsReferences_SoItSurvivesNormalisation()
    {
        // XML 1.0 §3.3.3 / §2.11: raw TAB/LF/CR in attributes and CR in text would not read back.
        var e = new XmlElement("message", Namespaces.Client).SetAttribute("id", "a\tb\nc\rd");
        e.AddText("x\ry\nz");
        Assert.Equal("<message id='a&#9;b&#10;c&#13;d'>x&#13;y\nz</message>", XmlElementWriter.ToXmlString(e, Namespaces.Client));
        var back = ParseOne(XmlElementWriter.ToXmlString(e, Namespaces.Client));
        Assert.Equal("a\tb\nc\rd", back.GetAttribute("id"));
        Assert.Equal("x\ry\nz", back.Text);
    }

    [Fact]
    public void ToXmlString_OmitsContextNamespace_AndDeclaresOthers()
    {
        var iq = new XmlElement("iq", Namespaces.Client).SetAttribute("type", "result");
        iq.AddChild("query", Namespaces.Roster).AddChild("item").SetAttribute("jid", "a@b");

        Assert.Equal(
            "<iq type='result'><query xmlns='jabber:iq:roster'><item jid='a@b'/></query></iq>",
            XmlElementWriter.ToXmlString(iq, Namespaces.Client));
    }

    [Fact]
    public void ToXmlString_UsesStreamPrefix_AndKeepsContextForChildren()
    {
        var features = new XmlElement("features", Namespaces.Streams);
        features.AddChild("bind", Namespaces.Bind);
        features.AddChild("ver", Namespaces.Client);

        Assert.Equal(
            "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><ver/></stream:features>",
            XmlElementWriter.ToXmlString(features, Namespaces.Client));
    }

    [Fact]
    public void ToXmlString_DeclaresPrefixes_ForNamespacedAttributes()
    {
        var x = new XmlElement("x", "urn:x")
            .SetAttribute("xml:lang", "en")
            .SetAttribute("urn:a\u0001one", "1")
            .SetAttribute("urn:b\u0001two", "2");

        Assert.Equal(
            "<x xmlns='urn:x' xml:lang='en' xmlns:ns1='urn:a' ns1:one='1' xmlns:ns2='urn:b' ns2:two='2'/>",
            XmlElementWriter.ToXmlString(x));
    }

    [Fact]
    public void Write_ProducesSameBytesAsToXmlString_WithTinyBufferSpans()
    {
        var message = new XmlElement("message", Namespaces.Client).SetAttribute("to", "jüliet@example.com");
        message.AddTextChild("body", string.Concat(Enumerable.Repeat("héllo 😀 & <world> 中文 ", 500)));
        var output = new StingyBufferWriter();

        XmlElementWriter.Write(output, message, Namespaces.Client);

        Assert.Equal(XmlElementWriter.ToXmlString(message, Namespaces.Client), Encoding.UTF8.GetString(output.Written));
        Assert.True(output.Requests > 1);
        Assert.Contains("héllo 😀 &amp; &lt;world&gt; 中文", Encoding.UTF8.GetString(output.Written));
    }

    [Fact]
    public void Write_AppendsToPipeBuffer_WithoutDisturbingEarlierBytes()
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write("<stream:stream>"u8);

        XmlElementWriter.Write(output, new XmlElement("presence", Namespaces.Client), Namespaces.Client);

        Assert.Equal("<stream:stream><presence/>", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    public static TheoryData<string> Stanzas() => new()
    {
        "<message to='romeo@example.net' type='chat' id='m1' xml:lang='fr'><body>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; é😀</body></message>",
        "<message><body>&#x3C;tag attr=&#34;v&#34;&#x3E; &amp;amp; ]]&gt;</body><thread parent='x&amp;y'>t</thread></message>",
        "<presence from='a@b/c' id='p&lt;1&gt;'><show>away</show><status>  spaced\n lines\t </status><priority>-1</priority></presence>",
        "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>",
        "<iq type='result'><query xmlns='jabber:iq:roster' ver='v1'><item jid='a@b' name='A &amp; B'><group>Friends</group></item></query></iq>",
        "<message><x xmlns:p='urn:test' xmlns:q='urn:other' p:attr='1' q:attr='2' attr='3'/><y xmlns='urn:y'><z a='&apos;&quot;'/></y></message>",
        "<message xmlns:s='urn:s'><s:a><b/></s:a><c>mixed <d/>content<e/> here</c></message>",
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
        "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>Replaced</text></stream:error>",
        "<message><body><![CDATA[<not> & markup]]></body></message>",
        "<unqualified xmlns=''><child/></unqualified>",
        "<presence>\n  <show>away</show>\n  <status xml:space='preserve'> x </status>\n</presence>",
    };

    [Theory]
    [MemberData(nameof(Stanzas))]
    public void ParseWriteParse_ReproducesElement(string stanza)
    {
        var first = ParseOne(stanza);
        string written = XmlElementWriter.ToXmlString(first, Namespaces.Client);
        var second = ParseOne(written);

        Assert.Equal(EventDump.Of(first), EventDump.Of(second));
    }

    [Theory]
    [MemberData(nameof(Stanzas))]
    public void ParseWriteParse_ReproducesElement_WithoutContextNamespace(string stanza)
    {
        var first = ParseOne(stanza);
        var buffer = new ArrayBufferWriter<byte>();
        XmlElementWriter.Write(buffer, first, "");
        // Written for a context without default namespace, so read it back in a stream without one.
        var second = ParseOne(Encoding.UTF8.GetString(buffer.WrittenSpan),
            "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");

        Assert.Equal(EventDump.Of(first), EventDump.Of(second));
    }

    private static XmlElement ParseOne(string stanza, string header = XmlStreamParserTests.Header)
    {
        var driver = new ParserDriver(new XmlStreamParser(new XmlStreamLimits())).Feed(header + stanza);
        Assert.Equal(2, driver.Events.Count);
        return Assert.IsType<StreamElementEvent>(driver.Events[1]).Element;
    }

    [Fact]
    public void LastChild_IsWrittenAsIfAppended_AndTheElementIsNotChanged()
    {
        var delay = new XmlElement("delay", "urn:xmpp:delay");
        delay.SetAttribute("stamp", "2026-12-07T22:00:00Z");
        var message = new XmlElement("message", Namespaces.Client);
        message.SetAttribute("to", "b@localhost/r");
        message.AddChild("body").AddText("hi <there>");
        var empty = new XmlElement("message", Namespaces.Client);

        foreach (var element in new[] { message, empty })
        {
            var appended = element.Clone();
            appended.AddChild(delay.Clone());
            var buffer = new ArrayBufferWriter<byte>();
            XmlElementWriter.Write(buffer, element, Namespaces.Client, delay);

            Assert.Equal(XmlElementWriter.ToXmlString(appended, Namespaces.Client), Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
        Assert.Null(message.Element("delay", "urn:xmpp:delay"));
        Assert.Empty(empty.Children);
    }
}
