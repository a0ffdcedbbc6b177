using System.Text;
using LuaXmpp.Host.Http;
using Xunit;

namespace LuaXmpp.Tests.Http;

/// <summary>
/// The cutter between the c2s writer's byte stream and the WebSocket/BOSH messages: units come out
/// whole and in order however the bytes are cut, and a big burst is taken in one pass.
/// </summary>
public sealed class StreamUnitSplitterTests
{
    [Fact]
    public void Units_come_out_whole_however_the_bytes_are_cut()
    {
        const string header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x1' from='localhost' version='1.0'>";
        const string nested = "<message to='a@b' id='m>1'><body>h\u00e9llo \u2603 &lt;x&gt;</body><x xmlns='urn:x'><y a=\"q'>\"/></x></message>";
        const string empty = "<r xmlns='urn:xmpp:sm:3'/>";
        var bytes = Encoding.UTF8.GetBytes(header + "\n " + nested + " " + empty + "\t</stream:stream>");
        var splitter = new StreamUnitSplitter();
        var units = new List<(StreamUnitSplitter.Kind, string)>();
        foreach (var b in bytes)
        {
            splitter.Feed([b]);
            while (splitter.TryTake(out var kind, out var text)) units.Add((kind, text));
        }
        Assert.Equal(
            [(StreamUnitSplitter.Kind.Header, header[header.IndexOf("<stream:stream", StringComparison.Ordinal)..]),
             (StreamUnitSplitter.Kind.Element, nested), (StreamUnitSplitter.Kind.Element, empty), (StreamUnitSplitter.Kind.End, "")],
            units);
    }

    [Fact]
    public void A_burst_of_many_elements_is_split_in_order()
    {
        var burst = new StringBuilder();
        for (var i = 0; i < 50_000; i++) burst.Append("<message id='").Append(i).Append("'><body>line ").Append(i).Append("</body></message>");
        var splitter = new StreamUnitSplitter();
        splitter.Feed(Encoding.UTF8.GetBytes(burst.ToString()));
        var count = 0;
        while (splitter.TryTake(out var kind, out var text))
        {
            Assert.Equal(StreamUnitSplitter.Kind.Element, kind);
            Assert.Equal($"<message id='{count}'><body>line {count}</body></message>", text);
            count++;
        }
        Assert.Equal(50_000, count);
    }
}
