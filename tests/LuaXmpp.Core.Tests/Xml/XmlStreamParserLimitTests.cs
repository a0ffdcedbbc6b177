using System.Text;
using LuaXmpp.Xml;

namespace LuaXmpp.Tests.Xml;

public sealed class XmlStreamParserLimitTests
{
    private const string H = XmlStreamParserTests.Header;
    private const int Limit = 200;

    /// <summary>A message of exactly <paramref name="bytes"/> bytes.</summary>
    private static byte[] MessageOfSize(int bytes)
    {
        const string open = "<message><body>", close = "</body></message>";
        return Encoding.UTF8.GetBytes(open + new string('x', bytes - open.Length - close.Length) + close);
    }

    private static ParserDriver Started(int limit = Limit) =>
        new ParserDriver(new XmlStreamParser(new XmlStreamLimits(MaxStanzaBytes: limit))).Feed("\n" + H + "\n");

    [Fact]
    public void TryRead_AcceptsElement_OfExactlyMaxStanzaBytes()
    {
        var driver = Started().Feed(MessageOfSize(Limit));

        Assert.IsType<StreamElementEvent>(driver.Events[1]);
    }

    [Fact]
    public void TryRead_AcceptsElement_OfExactlyMaxStanzaBytesFedBytewise()
    {
        var driver = Started().FeedBytewise(MessageOfSize(Limit));

        Assert.IsType<StreamElementEvent>(driver.Events[1]);
    }

    [Fact]
    public void TryRead_ThrowsPolicyViolation_ForOneByteOverMaxStanzaBytes()
    {
        var driver = Started();

        var ex = Assert.Throws<XmlStreamException>(() => driver.Feed(MessageOfSize(Limit + 1)));
        Assert.Equal(StreamErrorCondition.PolicyViolation, ex.Condition);
    }

    [Fact]
    public void TryRead_ThrowsPolicyViolation_AsSoonAsUnfinishedElementPassesLimit()
    {
        byte[] unfinished = Encoding.UTF8.GetBytes("<message><body>" + new string('x', Limit));
        var driver = Started().Feed(unfinished[..Limit]);
        Assert.Equal(Limit, driver.PendingBytes);

        var ex = Assert.Throws<XmlStreamException>(() => driver.Feed(unfinished[Limit..(Limit + 1)]));
        Assert.Equal(StreamErrorCondition.PolicyViolation, ex.Condition);
    }

    [Fact]
    public void TryRead_AcceptsLargerElement_AfterMaxStanzaBytesIsRaised()
    {
        var parser = new XmlStreamParser(new XmlStreamLimits(MaxStanzaBytes: Limit));
        var driver = new ParserDriver(parser).Feed(H);
        parser.MaxStanzaBytes = 1000;

        driver.Feed(MessageOfSize(1000));

        Assert.Equal(1000, parser.MaxStanzaBytes);
        Assert.IsType<StreamElementEvent>(driver.Events[1]);
    }

    [Fact]
    public void TryRead_AppliesRaisedLimit_ToElementAlreadyPartlyScanned()
    {
        var parser = new XmlStreamParser(new XmlStreamLimits(MaxStanzaBytes: Limit));
        byte[] message = MessageOfSize(500);
        var driver = new ParserDriver(parser).Feed(H).Feed(message[..100]);
        parser.MaxStanzaBytes = 1000;

        driver.Feed(message[100..]);

        Assert.IsType<StreamElementEvent>(driver.Events[1]);
    }

    [Fact]
    public void TryRead_RefusesAStanzaWithTooManyElements_ButAcceptsTheLimit()
    {
        static string Wide(int children) => "<message>" + string.Concat(Enumerable.Repeat("<a/>", children)) + "</message>";
        var limits = new XmlStreamLimits(MaxStanzaBytes: 1 << 20, MaxElements: 100);
        var driver = new ParserDriver(new XmlStreamParser(limits)).Feed(H);

        driver.Feed(Wide(99));
        var ex = Assert.Throws<XmlStreamException>(() => driver.Feed(Wide(100)));

        Assert.IsType<StreamElementEvent>(driver.Events[1]);
        Assert.Equal(StreamErrorCondition.PolicyViolation, ex.Condition);
    }

    [Fact]
    public void TryRead_CountsLimitPerElement_NotPerStream()
    {
        var driver = Started();
        for (int i = 0; i < 5; i++) driver.Feed(MessageOfSize(Limit));

        Assert.Equal(6, driver.Events.Count);
    }
}
