using System.Buffers;
using System.Text;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Tests.Xml;

public sealed class XmlStreamParserTests
{
    internal const string Header =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

    /// <summary>A client's side of a c2s session: SASL PLAIN, stream restart, bind, presence, chat, close.</summary>
    internal const string Transcript =
        "<?xml version='1.0'?>" + Header + "\n" +
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldABwYXNzd29yZA==</auth>" +
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" +
        "<stream:stream xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\" to=\"example.com\" version=\"1.0\">\r\n" +
        "<iq type='set' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind></iq>\n" +
        "  <presence><show>chat</show><status>Café ☕ 中文 😀</status><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://example.org' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>\n" +
        "<message to='romeo@example.net' type='chat' id='m1' xml:lang='fr'><body>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#233;&#x1F600;</body>" +
        "<active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>" +
        " \n\t " +
        "<iq type='get' id='p1' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>" +
        "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>" +
        "<message><body><![CDATA[x < y && y > z]]></body><x xmlns:p='urn:test' p:attr='v&amp;1' attr='plain'/></message>" +
        "\n</stream:stream>\n";

    internal static readonly string[] ExpectedTranscript =
    [
        "HEADER(jabber:client){http://etherx.jabber.org/streams}stream[to=example.com,version=1.0,xml:lang=en]()",
        "ELEMENT{urn:ietf:params:xml:ns:xmpp-sasl}auth[mechanism=PLAIN]('AGp1bGlldABwYXNzd29yZA==')",
        "HEADER(jabber:client){http://etherx.jabber.org/streams}stream[to=example.com,version=1.0]()",
        "ELEMENT{jabber:client}iq[type=set,id=bind_1]({urn:ietf:params:xml:ns:xmpp-bind}bind[]({urn:ietf:params:xml:ns:xmpp-bind}resource[]('balcony')))",
        "ELEMENT{jabber:client}presence[]({jabber:client}show[]('chat'),{jabber:client}status[]('Café ☕ 中文 😀')," +
            "{http://jabber.org/protocol/caps}c[hash=sha-1,node=http://example.org,ver=QgayPKawpkPSDYmwT/WM94uAlu0=]())",
        "ELEMENT{jabber:client}message[to=romeo@example.net,type=chat,id=m1,xml:lang=fr]({jabber:client}body[]('a <b> & \"c\" 'd' é😀')," +
            "{http://jabber.org/protocol/chatstates}active[](),{urn:xmpp:receipts}request[]())",
        "ELEMENT{jabber:client}iq[type=get,id=p1,to=example.com]({urn:xmpp:ping}ping[]())",
        "ELEMENT{http://etherx.jabber.org/streams}error[]({urn:ietf:params:xml:ns:xmpp-streams}not-well-formed[]())",
        "ELEMENT{jabber:client}message[]({jabber:client}body[]('x < y && y > z'),{jabber:client}x[urn:test|attr=v&1,attr=plain]())",
        "END",
    ];

    private static readonly byte[] s_transcript = Encoding.UTF8.GetBytes(Transcript);

    /// <summary>The session's part: restart the stream after SASL success (RFC 6120 §6.4.6).</summary>
    private static void ResetAfterAuth(XmlStreamParser parser, StreamEvent ev)
    {
        if (ev is StreamElementEvent { Element.Name: "auth" }) parser.Reset();
    }

    private static ParserDriver NewDriver(XmlStreamLimits? limits = null) =>
        new(new XmlStreamParser(limits ?? new XmlStreamLimits()), ResetAfterAuth);

    [Fact]
    public void TryRead_ParsesClientSession_WhenFedAtOnce()
    {
        var driver = NewDriver().Feed(s_transcript);

        Assert.Equal(string.Join("\n", ExpectedTranscript), EventDump.Of(driver.Events));
        Assert.Equal(0, driver.PendingBytes);
    }

    [Fact]
    public void TryRead_ReportsHeaderDetails_ForClientStream()
    {
        var header = Assert.IsType<StreamHeaderEvent>(NewDriver().Feed(Header).Events.Single());

        Assert.Equal("stream", header.Header.Name);
        Assert.Equal(Namespaces.Streams, header.Header.Namespace);
        Assert.Equal(Namespaces.Client, header.DefaultNamespace);
        Assert.Equal("en", header.Header["xml:lang"]);
        Assert.Null(header.Header["xmlns"]);
    }

    [Fact]
    public void TryRead_GivesIdenticalEvents_AtEverySplitPointFedIncrementally()
    {
        string expected = string.Join("\n", ExpectedTranscript);
        for (int split = 0; split <= s_transcript.Length; split++)
        {
            var driver = NewDriver().FeedSplit(s_transcript, split);
            Assert.True(expected == EventDump.Of(driver.Events), $"split at {split}");
        }
    }

    [Fact]
    public void TryRead_GivesIdenticalEvents_ForEveryTwoSegmentSequenceAtOnce()
    {
        string expected = string.Join("\n", ExpectedTranscript);
        for (int split = 0; split <= s_transcript.Length; split++)
        {
            var parser = new XmlStreamParser(new XmlStreamLimits());
            var buffer = TestSequenceSegment.Create([s_transcript[..split], s_transcript[split..]]);
            var events = new List<StreamEvent>();
            while (parser.TryRead(ref buffer, out var ev))
            {
                events.Add(ev!);
                ResetAfterAuth(parser, ev!);
            }
            Assert.True(expected == EventDump.Of(events), $"split at {split}");
            Assert.Equal(0, buffer.Length);
        }
    }

    [Fact]
    public void TryRead_GivesIdenticalEvents_ForSingleByteSegmentsAtOnce()
    {
        var parser = new XmlStreamParser(new XmlStreamLimits());
        var buffer = TestSequenceSegment.SingleBytes(s_transcript);
        var events = new List<StreamEvent>();
        while (parser.TryRead(ref buffer, out var ev))
        {
            events.Add(ev!);
            ResetAfterAuth(parser, ev!);
        }

        Assert.Equal(string.Join("\n", ExpectedTranscript), EventDump.Of(events));
    }

    [Fact]
    public void TryRead_GivesIdenticalEvents_WhenBytesArriveOneByOne()
    {
        var driver = NewDriver().FeedBytewise(s_transcript);

        Assert.Equal(string.Join("\n", ExpectedTranscript), EventDump.Of(driver.Events));
    }

    [Fact]
    public void TryRead_DecodesMultibyteCharacter_WhenSplitInsideItsUtf8Sequence()
    {
        byte[] stanza = Encoding.UTF8.GetBytes("<message><body>x😀y€</body></message>");
        int emoji = Array.IndexOf(stanza, (byte)0xF0);
        int euro = Array.IndexOf(stanza, (byte)0xE2);
        foreach (int split in new[] { emoji + 1, emoji + 2, emoji + 3, euro + 1, euro + 2 })
        {
            var driver = NewDriver().Feed(Header).FeedSplit(stanza, split);
            var message = Assert.IsType<StreamElementEvent>(driver.Events[1]).Element;
            Assert.Equal("x😀y€", message.ChildText("body"));
        }
    }

    [Fact]
    public void TryRead_ReturnsFalseAndConsumesWhitespace_WhenOnlyWhitespaceRemains()
    {
        var parser = new XmlStreamParser(new XmlStreamLimits());
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(Header + " \r\n\t "));

        Assert.True(parser.TryRead(ref buffer, out _));
        Assert.False(parser.TryRead(ref buffer, out var ev));
        Assert.Null(ev);
        Assert.Equal(0, buffer.Length);
    }

    [Fact]
    public void TryRead_LeavesIncompleteElementUnconsumed_WhenMoreInputIsNeeded()
    {
        var parser = new XmlStreamParser(new XmlStreamLimits());
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(Header + "\n  <message><body>hel"));

        Assert.True(parser.TryRead(ref buffer, out _));
        Assert.False(parser.TryRead(ref buffer, out _));
        Assert.Equal("<message><body>hel", Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Fact]
    public void TryRead_ResolvesNamespaces_WithScopingAndStreamPrefix()
    {
        var driver = NewDriver().Feed(Header +
            "<message xmlns:a='urn:a'><a:x><y/><z xmlns='urn:z'><w/></z></a:x><v/><stream:features/></message>");
        var message = Assert.IsType<StreamElementEvent>(driver.Events[1]).Element;

        Assert.Equal(
            "{jabber:client}message[]({urn:a}x[]({jabber:client}y[](),{urn:z}z[]({urn:z}w[]())),{jabber:client}v[](),{http://etherx.jabber.org/streams}features[]())",
            EventDump.Of(message));
    }

    [Fact]
    public void TryRead_NormalisesLineEndsAndAttributeWhitespace()
    {
        var driver = NewDriver().Feed(Header + "<message id='a\tb\r\nc&#9;d'><body>1\r\n2\r3</body></message>");
        var message = Assert.IsType<StreamElementEvent>(driver.Events[1]).Element;

        Assert.Equal("a b c\td", message["id"]);
        Assert.Equal("1\n2\n3", message.ChildText("body"));
    }

    [Fact]
    public void TryRead_InternsCommonNames_AcrossStanzas()
    {
        var driver = NewDriver().Feed(Header + "<message type='chat'><body>a</body></message><message type='chat'><body>b</body></message>");
        var first = ((StreamElementEvent)driver.Events[1]).Element;
        var second = ((StreamElementEvent)driver.Events[2]).Element;

        Assert.Same(first.Name, second.Name);
        Assert.Same(first.Namespace, second.Namespace);
        Assert.Same(first["type"], second["type"]);
        Assert.Same(first.Attributes[0].Name, second.Attributes[0].Name);
    }

    [Fact]
    public void Reset_ExpectsFreshHeader_WithOptionalDeclaration()
    {
        var parser = new XmlStreamParser(new XmlStreamLimits());
        var driver = new ParserDriver(parser).Feed(Header + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        parser.Reset();
        driver.Feed("<?xml version='1.0'?>" + Header + "<message/>");

        Assert.Equal(
            [typeof(StreamHeaderEvent), typeof(StreamElementEvent), typeof(StreamHeaderEvent), typeof(StreamElementEvent)],
            driver.Events.Select(e => e.GetType()));
    }

    [Fact]
    public void Reset_ForgetsHeaderNamespaceBindings()
    {
        var parser = new XmlStreamParser(new XmlStreamLimits());
        var driver = new ParserDriver(parser).Feed(Header);
        parser.Reset();

        var ex = Assert.Throws<XmlStreamException>(() => driver.Feed("<stream:stream xmlns='jabber:client'>"));
        Assert.Equal(StreamErrorCondition.BadNamespacePrefix, ex.Condition);
    }

    [Fact]
    public void TryRead_AllowsWhitespaceBetweenDeclarationAndHeader()
    {
        var driver = NewDriver().Feed("<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n" + Header);

        Assert.IsType<StreamHeaderEvent>(Assert.Single(driver.Events));
    }

    [Fact]
    public void TryRead_ReportsEmptyDefaultNamespace_WhenHeaderDeclaresNone()
    {
        var driver = NewDriver().Feed("<s:stream xmlns:s='http://etherx.jabber.org/streams'>");

        Assert.Equal("", Assert.IsType<StreamHeaderEvent>(Assert.Single(driver.Events)).DefaultNamespace);
        driver.Feed("</s:stream>");
        Assert.IsType<StreamEndEvent>(driver.Events[1]);
    }

    [Fact]
    public void TryRead_KeepsWhitespaceText_InsideStanzas()
    {
        var driver = NewDriver().Feed(Header + "<presence>\n  <show>away</show>\n</presence>");
        var presence = Assert.IsType<StreamElementEvent>(driver.Events[1]).Element;

        Assert.Equal("{jabber:client}presence[]('\n  ',{jabber:client}show[]('away'),'\n')", EventDump.Of(presence));
    }
}
