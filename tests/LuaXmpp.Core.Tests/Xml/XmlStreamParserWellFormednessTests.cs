using System.Text;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Xml;

/// <summary>Legal XML at the edges the error tests probe: byte order marks, "]]" in text, matching end tags.</summary>
public sealed class XmlStreamParserWellFormednessTests
{
    private const string H = XmlStreamParserTests.Header;

    private static readonly byte[] s_byteOrderMark = [0xEF, 0xBB, 0xBF];

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    private static ParserDriver NewDriver() => new(new XmlStreamParser(new XmlStreamLimits()));

    public static TheoryData<string> StreamsWithByteOrderMark() => new()
    {
        "<?xml version='1.0' encoding='UTF-8'?>" + H + "<message><body>hi</body></message>",
        H + "<message><body>hi</body></message>",
    };

    [Theory]
    [MemberData(nameof(StreamsWithByteOrderMark))]
    public void TryRead_SkipsByteOrderMark_AtStreamStart(string stream)
    {
        byte[] input = [.. s_byteOrderMark, .. U(stream)];

        var atOnce = NewDriver().Feed(input);
        var bytewise = NewDriver().FeedBytewise(input);

        Assert.Equal("ELEMENT{jabber:client}message[]({jabber:client}body[]('hi'))", EventDump.Of(atOnce.Events[1]));
        Assert.Equal(EventDump.Of(atOnce.Events), EventDump.Of(bytewise.Events));
        Assert.Equal(0, bytewise.PendingBytes);
    }

    [Fact]
    public void TryRead_WaitsForRestOfByteOrderMark_WhenOnlyItsPrefixArrived()
    {
        var driver = NewDriver().Feed([0xEF, 0xBB]);

        Assert.Equal(2, driver.PendingBytes);
        driver.Feed([0xBF]).Feed(H);
        Assert.IsType<StreamHeaderEvent>(Assert.Single(driver.Events));
    }

    [Fact]
    public void Reset_AllowsByteOrderMark_BeforeRestartedStream()
    {
        var parser = new XmlStreamParser(new XmlStreamLimits());
        var driver = new ParserDriver(parser).Feed([.. s_byteOrderMark, .. U(H)]);
        parser.Reset();

        driver.Feed([.. s_byteOrderMark, .. U(H + "<presence/>")]);

        Assert.Equal(
            [typeof(StreamHeaderEvent), typeof(StreamHeaderEvent), typeof(StreamElementEvent)],
            driver.Events.Select(e => e.GetType()));
    }

    [Theory]
    [InlineData("a]]b", "a]]b")]
    [InlineData("a]]&gt;b", "a]]>b")]
    [InlineData("a]&gt;b]", "a]>b]")]
    [InlineData("<![CDATA[a]]]]><![CDATA[>b]]>", "a]]>b")]
    public void TryRead_AcceptsBracketsInText_WhenNotFormingCdataEnd(string body, string expected)
    {
        byte[] input = U(H + "<message><body>" + body + "</body></message>");

        var atOnce = NewDriver().Feed(input);
        var bytewise = NewDriver().FeedBytewise(input);

        Assert.Equal(expected, ((StreamElementEvent)atOnce.Events[1]).Element.ChildText("body"));
        Assert.Equal(EventDump.Of(atOnce.Events), EventDump.Of(bytewise.Events));
    }

    [Theory]
    [InlineData("<a:x xmlns:a='urn:a'><a:y></a:y ></a:x>")]
    [InlineData("<message><body\n>hi</body\t\r\n></message >")]
    [InlineData("<m><m><m/></m><n><m></m></n></m>")]
    public void TryRead_AcceptsMatchingEndTags_WithWhitespaceAndPrefixes(string stanza)
    {
        var driver = NewDriver().FeedBytewise(U(H + stanza));

        Assert.IsType<StreamElementEvent>(driver.Events[1]);
        Assert.Equal(0, driver.PendingBytes);
    }
}
