using System.Text;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Xml;

/// <summary>Inputs the fuzzer (tools/Fuzz) found troublesome, kept as regressions.</summary>
public sealed class XmlStreamParserFuzzRegressionTests
{
    private const string H = XmlStreamParserTests.Header;

    private static ParserDriver NewDriver(int maxStanzaBytes = 10_000) =>
        new(new XmlStreamParser(new XmlStreamLimits(MaxStanzaBytes: maxStanzaBytes)));

    /// <summary>
    /// Found as seed 3 input 14088: "t&lt;![CDATA[x]]&gt;" 1331 times in a body allocated 14 MB, because each
    /// piece of character data was appended to the text node so far. Text and CDATA must join in linear time.
    /// </summary>
    [Fact]
    public void TryRead_JoinsManyCdataSections_InLinearAllocation()
    {
        const int pieces = 18_000;
        string stanza = "<message><body>" + string.Concat(Enumerable.Repeat("t<![CDATA[x]]>", pieces)) + "</body></message>";
        var driver = NewDriver(256 * 1024).Feed(H);
        byte[] input = Encoding.UTF8.GetBytes(stanza);

        long before = GC.GetAllocatedBytesForCurrentThread();
        driver.Feed(input);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var body = Assert.IsType<StreamElementEvent>(driver.Events[1]).Element.Element("body")!;
        Assert.Equal(string.Concat(Enumerable.Repeat("tx", pieces)), Assert.IsType<XmlText>(Assert.Single(body.Children)).Value);
        // Quadratic joining allocates gigabytes here; linear joining a few times the input.
        Assert.True(allocated < 40L * input.Length, $"{allocated} bytes allocated for {input.Length} bytes of input");
    }

    [Fact]
    public void TryRead_KeepsTextOrder_AroundChildElementsAndCdata()
    {
        var driver = NewDriver().Feed(H + "<message>a<![CDATA[b]]>&amp;<x/>c<![CDATA[]]><y>d</y><![CDATA[e]]>f</message>");

        Assert.Equal("{jabber:client}message[]('ab&',{jabber:client}x[](),'c',{jabber:client}y[]('d'),'ef')",
            EventDump.Of(Assert.IsType<StreamElementEvent>(driver.Events[1]).Element));
    }
}
