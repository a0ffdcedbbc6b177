using System.Text;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Xml;

public sealed class XmlStreamParserErrorTests
{
    private const string H = XmlStreamParserTests.Header;

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Bytes(string before, byte[] raw, string after) => [.. U(before), .. raw, .. U(after)];

    public static TheoryData<string, byte[], StreamErrorCondition> Violations() => new()
    {
        // Stream header (RFC 6120 §4.8)
        { "header in wrong namespace", U("<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:client'>"), StreamErrorCondition.InvalidNamespace },
        { "header with wrong name", U("<features xmlns='http://etherx.jabber.org/streams'>"), StreamErrorCondition.InvalidNamespace },
        { "header without namespace", U("<stream version='1.0'>"), StreamErrorCondition.InvalidNamespace },
        { "header with undeclared prefix", U("<stream:stream xmlns='jabber:client'>"), StreamErrorCondition.BadNamespacePrefix },
        { "declaration in another encoding", U("<?xml version='1.0' encoding='ISO-8859-1'?>" + H), StreamErrorCondition.UnsupportedEncoding },
        { "declaration without version", U("<?xml encoding='UTF-8'?>" + H), StreamErrorCondition.NotWellFormed },
        { "second declaration", U("<?xml version='1.0'?><?xml version='1.0'?>" + H), StreamErrorCondition.RestrictedXml },
        { "declaration after header", U(H + "<?xml version='1.0'?>"), StreamErrorCondition.RestrictedXml },
        { "text before header", U("hello" + H), StreamErrorCondition.NotWellFormed },
        { "closing tag before header", U("</stream:stream>"), StreamErrorCondition.NotWellFormed },
        { "empty stream element", U("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>"), StreamErrorCondition.NotWellFormed },
        { "closing tag not matching header", U(H + "</stream:features>"), StreamErrorCondition.NotWellFormed },

        // Restricted XML (§11.1)
        { "doctype", U("<!DOCTYPE stream>" + H), StreamErrorCondition.RestrictedXml },
        { "comment at depth 1", U(H + "<!-- hi -->"), StreamErrorCondition.RestrictedXml },
        { "comment in stanza", U(H + "<message><!-- hi --></message>"), StreamErrorCondition.RestrictedXml },
        { "processing instruction", U(H + "<message><?php echo?></message>"), StreamErrorCondition.RestrictedXml },
        { "processing instruction before header", U("<?xml-stylesheet href='a'?>" + H), StreamErrorCondition.RestrictedXml },
        { "entity reference", U(H + "<message><body>&nbsp;</body></message>"), StreamErrorCondition.RestrictedXml },
        { "entity reference in attribute", U(H + "<message to='&foo;'/>"), StreamErrorCondition.RestrictedXml },

        // Well-formedness
        { "mismatched tags", U(H + "<message><body></message></body>"), StreamErrorCondition.NotWellFormed },
        { "unquoted attribute", U(H + "<message to=romeo/>"), StreamErrorCondition.NotWellFormed },
        { "attributes without whitespace", U(H + "<message to='a'from='b'/>"), StreamErrorCondition.NotWellFormed },
        { "attribute without value", U(H + "<message to/>"), StreamErrorCondition.NotWellFormed },
        { "duplicate attribute", U(H + "<message to='a' to='b'/>"), StreamErrorCondition.NotWellFormed },
        { "duplicate expanded attribute", U(H + "<message xmlns:a='u' xmlns:b='u' a:x='1' b:x='2'/>"), StreamErrorCondition.NotWellFormed },
        { "duplicate namespace declaration", U(H + "<message xmlns:a='u' xmlns:a='v'/>"), StreamErrorCondition.NotWellFormed },
        { "prefix bound to the xmlns namespace", U(H + "<message xmlns:p='http://www.w3.org/2000/xmlns/' p:a='1'/>"), StreamErrorCondition.NotWellFormed },
        { "default namespace set to the xmlns namespace", U(H + "<message xmlns='http://www.w3.org/2000/xmlns/'/>"), StreamErrorCondition.NotWellFormed },
        { "xml prefix bound to another namespace", U(H + "<message xmlns:xml='urn:x'/>"), StreamErrorCondition.NotWellFormed },
        { "xmlns prefix declared", U(H + "<message xmlns:xmlns='urn:x'/>"), StreamErrorCondition.NotWellFormed },
        { "empty prefixed namespace", U(H + "<message xmlns:a=''/>"), StreamErrorCondition.NotWellFormed },
        { "less-than in attribute value", U(H + "<message to='a<b'/>"), StreamErrorCondition.NotWellFormed },
        { "bare ampersand", U(H + "<message><body>a & b</body></message>"), StreamErrorCondition.NotWellFormed },
        { "character reference to NUL", U(H + "<message><body>&#0;</body></message>"), StreamErrorCondition.NotWellFormed },
        { "character reference to surrogate", U(H + "<message><body>&#xD800;</body></message>"), StreamErrorCondition.NotWellFormed },
        { "character reference out of range", U(H + "<message><body>&#x110000;</body></message>"), StreamErrorCondition.NotWellFormed },
        { "malformed character reference", U(H + "<message><body>&#x12g;</body></message>"), StreamErrorCondition.NotWellFormed },
        { "control character in text", U(H + "<message><body>a\u0001b</body></message>"), StreamErrorCondition.NotWellFormed },
        { "control character in attribute", U(H + "<message id='a\u001Fb'/>"), StreamErrorCondition.NotWellFormed },
        { "noncharacter U+FFFE", U(H + "<message><body>\uFFFE</body></message>"), StreamErrorCondition.NotWellFormed },
        { "overlong UTF-8", Bytes(H + "<message><body>", [0xC0, 0xAF], "</body></message>"), StreamErrorCondition.NotWellFormed },
        { "UTF-8 surrogate", Bytes(H + "<message><body>", [0xED, 0xA0, 0x80], "</body></message>"), StreamErrorCondition.NotWellFormed },
        { "truncated UTF-8", Bytes(H + "<message><body>", [0xE2, 0x82], "</body></message>"), StreamErrorCondition.NotWellFormed },
        { "invalid UTF-8 byte", Bytes(H + "<message id='", [0xFF], "'/>"), StreamErrorCondition.NotWellFormed },
        { "invalid UTF-8 in name", Bytes(H + "<message a", [0xC3], "='1'/>"), StreamErrorCondition.NotWellFormed },
        { "text at depth 1", U(H + "hello"), StreamErrorCondition.NotWellFormed },
        { "data after stream end", U(H + "</stream:stream> <message/>"), StreamErrorCondition.NotWellFormed },
        { "malformed CDATA", U(H + "<message><![CDAXA[x]]></message>"), StreamErrorCondition.NotWellFormed },
        { "name starting with digit", U(H + "<1message/>"), StreamErrorCondition.NotWellFormed },
        { "two colons in name", U(H + "<a:b:c xmlns:a='u'/>"), StreamErrorCondition.NotWellFormed },
        // Non-ASCII names outside XML 1.0 4th-edition classes, which expat and .NET refuse: passed
        // on, they would break the recipient's stream (found by the stanza fuzzer).
        { "Syriac letter inside an attribute name", U(H + "<message><markable xm\u0718lns='urn:x'/></message>"), StreamErrorCondition.NotWellFormed },
        { "Syriac letter as element name", U(H + "<message><\u0718/></message>"), StreamErrorCondition.NotWellFormed },
        { "multiplication sign in a name", U(H + "<message a\u00D7b='1'/>"), StreamErrorCondition.NotWellFormed },
        { "character above U+FFFF in a name", U(H + "<message a\U00010000='1'/>"), StreamErrorCondition.NotWellFormed },
        { "combining mark starting a local name", U(H + "<message xmlns:p='urn:p' p:\u0301a='1'/>"), StreamErrorCondition.NotWellFormed },
        // Refused on the end tag's '>', without waiting for a depth-1 end that never comes (as expat does).
        { "mismatched end tag", U(H + "<message><body>hi</message>"), StreamErrorCondition.NotWellFormed },
        { "mismatched end tag deep inside", U(H + "<iq type='get'><query xmlns='jabber:iq:roster'><item></query>"), StreamErrorCondition.NotWellFormed },
        { "end tag differing in prefix only", U(H + "<message xmlns:a='urn:a'><a:x></x>"), StreamErrorCondition.NotWellFormed },
        { "end tag with a longer name", U(H + "<message><body></bodyx>"), StreamErrorCondition.NotWellFormed },
        { "end tag with junk after the name", U(H + "<message><body>hi</body junk>"), StreamErrorCondition.NotWellFormed },
        { "start tag without a name", U(H + "<message><>"), StreamErrorCondition.NotWellFormed },
        { "CDATA end in character data", U(H + "<message><body>a]]>b</body></message>"), StreamErrorCondition.NotWellFormed },
        { "byte order mark after the header", Bytes(H, [0xEF, 0xBB, 0xBF], "<message/>"), StreamErrorCondition.NotWellFormed },
        { "byte order mark twice", Bytes("", [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF], H), StreamErrorCondition.NotWellFormed },
        { "byte order mark after the declaration", Bytes("<?xml version='1.0'?>", [0xEF, 0xBB, 0xBF], H), StreamErrorCondition.NotWellFormed },
        { "truncated byte order mark", Bytes("", [0xEF, 0xBB], H), StreamErrorCondition.NotWellFormed },

        // Namespace prefixes
        { "undeclared element prefix", U(H + "<foo:message/>"), StreamErrorCondition.BadNamespacePrefix },
        { "undeclared attribute prefix", U(H + "<message foo:bar='x'/>"), StreamErrorCondition.BadNamespacePrefix },
        { "prefix out of scope", U(H + "<message><a xmlns:p='u'/><p:b/></message>"), StreamErrorCondition.BadNamespacePrefix },

        // Limits
        { "too deep", U(H + string.Concat(Enumerable.Repeat("<a>", 33)) + string.Concat(Enumerable.Repeat("</a>", 33))), StreamErrorCondition.PolicyViolation },
        { "too many attributes", U(H + "<message" + string.Concat(Enumerable.Range(0, 65).Select(i => $" a{i}='v'")) + "/>"), StreamErrorCondition.PolicyViolation },
        { "name too long", U(H + "<" + new string('n', 257) + "/>"), StreamErrorCondition.PolicyViolation },
        { "attribute name too long", U(H + "<message " + new string('n', 257) + "='v'/>"), StreamErrorCondition.PolicyViolation },
        { "stanza too large", U(H + "<message><body>" + new string('x', 10_000) + "</body></message>"), StreamErrorCondition.PolicyViolation },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public void TryRead_ThrowsStreamError_ForViolation(string violation, byte[] input, StreamErrorCondition expected)
    {
        var ex = Assert.Throws<XmlStreamException>(() => new ParserDriver(new XmlStreamParser(new XmlStreamLimits())).Feed(input));

        Assert.True(expected == ex.Condition, $"{violation}: got {ex.Condition} ({ex.Message})");
    }

    [Theory]
    [MemberData(nameof(Violations))]
    public void TryRead_ThrowsSameStreamError_WhenFedBytewise(string violation, byte[] input, StreamErrorCondition expected)
    {
        var ex = Assert.Throws<XmlStreamException>(() => new ParserDriver(new XmlStreamParser(new XmlStreamLimits())).FeedBytewise(input));

        Assert.True(expected == ex.Condition, $"{violation}: got {ex.Condition} ({ex.Message})");
    }

    [Fact]
    public void TryRead_AcceptsLimits_AtTheirExactValues()
    {
        string deep = string.Concat(Enumerable.Repeat("<a>", 32)) + string.Concat(Enumerable.Repeat("</a>", 32));
        string attributes = "<message" + string.Concat(Enumerable.Range(0, 64).Select(i => $" a{i}='v'")) + "/>";
        string longName = "<" + new string('n', 256) + "/>";

        var driver = new ParserDriver(new XmlStreamParser(new XmlStreamLimits())).Feed(H + deep + attributes + longName);

        Assert.Equal(4, driver.Events.Count);
    }

    [Fact]
    public void TryRead_AcceptsNonAsciiNames_InTheClassesEveryParserKnows()
    {
        var driver = new ParserDriver(new XmlStreamParser(new XmlStreamLimits()))
            .Feed(H + "<message caf\u00E9='1' \u03B1\u03B2='2' \u4E2D\u6587='3'><na\u0301me/></message>");

        var message = Assert.IsType<StreamElementEvent>(driver.Events[1]).Element;
        Assert.Equal(["caf\u00E9", "\u03B1\u03B2", "\u4E2D\u6587"], message.Attributes.Select(a => a.Name));
    }

    [Fact]
    public void TryRead_AcceptsCharacterReferences_ToLegalCharacters()
    {
        var driver = new ParserDriver(new XmlStreamParser(new XmlStreamLimits()))
            .Feed(H + "<message><body>&#9;&#xA;&#13;&#x20;&#xD7FF;&#xE000;&#xFFFD;&#x10000;&#x10FFFF;</body></message>");
        var body = ((StreamElementEvent)driver.Events[1]).Element.ChildText("body");

        Assert.Equal("\t\n\r \uD7FF\uE000\uFFFD\U00010000\U0010FFFF", body);
    }
}
